"""One control plane per test session, with the pinned CRDs installed (see controlplane.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from raygitops.schema.store import default_mirror

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
    """The control plane with every pinned CRD established, and Argo CD's namespace."""
    try:
        control_plane.install_crds(default_mirror() or repo_root.parent / "shared" / "crds")
    except ControlPlaneError as exc:
        pytest.fail(str(exc), pytrace=False)
    # Argo CD's own install creates it; argocd/ only adds objects into it.
    control_plane.kubectl("create", "namespace", "argocd")
    return control_plane
