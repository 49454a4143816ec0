"""One control plane per test session, with the pinned CRDs installed (see controlplane.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from raygitops.schemastore import default_mirror, read_lock

from .controlplane import ControlPlane, ControlPlaneError


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    try:
        plane = ControlPlane.start(tmp_path_factory.mktemp("control-plane"))
    except ControlPlaneError as exc:
        pytest.fail(f"could not start the local control plane: {exc}", pytrace=False)
    try:
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def cluster(control_plane: ControlPlane, repo_root) -> ControlPlane:
    """The control plane with every pinned CRD (byte-exact, sha256-checked) established and Argo CD's namespace."""
    mirror = default_mirror() or repo_root.parent / "shared" / "crds"
    for entry in read_lock().crds:
        data = (mirror / entry.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256, f"{mirror / entry.path} is not the pinned file"
        # Server-side: three of the CRDs exceed the client-side last-applied annotation limit.
        control_plane.kubectl("apply", "--server-side", "--field-manager=raygitops-test", "-f", "-",
                              stdin=data.decode())
    control_plane.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=120s")
    # Argo CD's own install creates it; argocd/ only adds objects into it.
    control_plane.kubectl("create", "namespace", "argocd")
    return control_plane
