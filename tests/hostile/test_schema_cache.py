"""The schema store cache is never code: a checkout that carries a planted cache, or a store
whose files were swapped for a pickle or for other schemas, runs nothing and trusts nothing."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

from raygitops.schema.store import LOCK_FILE, SchemaStore, _package_definitions, fetch

RAYCLUSTER_WITH_A_TYPO = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: sample
spec:
  rayVersion: "2.60.0"
  headGroupSpc: {}
"""


class _Payload:
    """Unpickling this writes a marker file: the proof a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _validate(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "raygitops", "validate", "-o", "json", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )


def test_a_cache_planted_in_the_checkout_is_never_executed(tmp_path, mirror_dir):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    marker = tmp_path / "pwned"
    planted = checkout / ".cache" / "raygitops"  # where raygitops used to keep its store: a pickle each
    payload = pickle.dumps(_Payload(marker))
    lock_sha256 = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    definitions = _package_definitions("1.33")[1]
    for folder, index in (
        ("crd", {"format": 1, "lock_sha256": lock_sha256}),
        ("builtin/v1.33", {"format": 1, "kubernetes_version": "1.33", "source_fingerprint": definitions}),
    ):
        (planted / folder).mkdir(parents=True)
        kinds = []
        for group, version, kind in (("ray.io", "v1", "RayCluster"), ("", "v1", "ConfigMap")):
            for suffix in ("pickle", "json"):
                name = f"{group or 'core'}_{version}_{kind}.{suffix}"
                (planted / folder / name).write_bytes(payload)
                kinds.append({"group": group, "version": version, "kind": kind, "namespaced": True, "storage": True,
                              "status_subresource": False, "file": name, "sha256": hashlib.sha256(payload).hexdigest()})
        (planted / folder / "manifest.json").write_text(json.dumps(index | {"kinds": kinds}))
    (checkout / "cluster.yaml").write_text(RAYCLUSTER_WITH_A_TYPO)
    env = {k: v for k, v in os.environ.items() if k not in ("RAYGITOPS_CACHE_DIR", "XDG_CACHE_HOME")}
    env |= {"HOME": str(tmp_path / "home"), "RAYGITOPS_CRD_MIRROR": str(mirror_dir)}

    result = _validate(["cluster.yaml"], env, checkout)

    assert not marker.exists(), "a pickle from the checkout was executed"
    assert result.returncode == 1, result.stderr
    assert "headGroupSpc" in result.stdout  # validated against the real schema, built in ~/.cache
    assert (tmp_path / "home" / ".cache" / "raygitops").is_dir()


def test_a_store_file_swapped_for_a_pickle_is_rebuilt_not_run(tmp_path, monkeypatch, mirror_dir):
    monkeypatch.setenv("RAYGITOPS_CRD_MIRROR", str(mirror_dir))
    cache = tmp_path / "cache"
    fetch(cache)
    marker = tmp_path / "pwned"
    [schema_file] = cache.glob("crd-*/ray.io_v1_RayCluster.json")
    schema_file.write_bytes(pickle.dumps(_Payload(marker)))
    [configmap_file] = cache.glob("builtin-*/v1.33/core_v1_ConfigMap.json")
    configmap_file.write_bytes(pickle.dumps(_Payload(marker)))

    store = SchemaStore.open(cache)
    cluster = store.schema_for("ray.io/v1", "RayCluster")
    config_map = store.schema_for("v1", "ConfigMap")

    assert not marker.exists()
    assert "headGroupSpec" in cluster.schema["properties"]["spec"]["properties"]
    assert "data" in config_map.schema["properties"]


def test_a_store_file_swapped_for_other_schemas_is_not_trusted(tmp_path, monkeypatch, mirror_dir):
    """Valid JSON that accepts anything, in place of the RayCluster schema: the checksum catches it."""
    monkeypatch.setenv("RAYGITOPS_CRD_MIRROR", str(mirror_dir))
    cache = tmp_path / "cache"
    fetch(cache)
    [schema_file] = cache.glob("crd-*/ray.io_v1_RayCluster.json")
    schema_file.write_text('{"type": "object", "x-kubernetes-preserve-unknown-fields": true}')
    (tmp_path / "cluster.yaml").write_text(RAYCLUSTER_WITH_A_TYPO)

    result = _validate([str(tmp_path / "cluster.yaml")], os.environ | {"RAYGITOPS_CACHE_DIR": str(cache)}, tmp_path)

    assert result.returncode == 1 and "headGroupSpc" in result.stdout, result.stdout + result.stderr
