"""The pinned schema store: fetch refuses tampered files, a store that does not verify is
rebuilt (or, with nothing to rebuild from, asks for `raygitops schemas fetch`), the cache is
JSON outside the work tree, and lookups answer what the API server would serve."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from raygitops.schema.store import (
    FETCH_HINT,
    LOCK_FILE,
    SchemaFetchError,
    SchemaStore,
    SchemaStoreError,
    default_cache_dir,
    fetch,
    read_lock,
)

SMALL_ENTRY = "prometheus-operator-prometheusrule"  # 13 KB: keeps the extra fetches below quick


@pytest.fixture(scope="module")
def mirror(repo_root: Path) -> Path:
    configured = os.environ.get("RAYGITOPS_CRD_MIRROR")
    path = Path(configured) if configured else repo_root.parent / "shared" / "crds"
    if not path.is_dir():
        pytest.fail(f"the pinned CRD mirror is missing at {path}; set RAYGITOPS_CRD_MIRROR")
    return path


def small_lock(tmp_path: Path, **changes: str) -> Path:
    """A lock file holding only the small PrometheusRule CRD, with `changes` applied to its entry."""
    data = yaml.safe_load(LOCK_FILE.read_text())
    data["crds"] = [dict(e, **changes) for e in data["crds"] if e["name"] == SMALL_ENTRY]
    path = tmp_path / "schemas.lock.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


# ---------------------------------------------------------------- the lock file


def test_lock_pins_all_ten_upstream_files_and_kubernetes_1_33(mirror):
    lock = read_lock()
    assert lock.kubernetes_version == "1.33"
    assert len(lock.crds) == 10
    for entry in lock.crds:
        assert entry.url.startswith("https://raw.githubusercontent.com/")
        assert entry.url.endswith("/" + entry.path.split("/", 1)[1])
        assert hashlib.sha256((mirror / entry.path).read_bytes()).hexdigest() == entry.sha256


# ---------------------------------------------------------------- lookups


def test_crd_kinds_with_their_versions_and_scope(schema_store):
    cluster = schema_store.schema_for("ray.io/v1", "RayCluster")
    assert (cluster.group, cluster.version, cluster.kind, cluster.is_crd) == ("ray.io", "v1", "RayCluster", True)
    assert cluster.namespaced and cluster.storage and cluster.status_subresource
    assert schema_store.schema_for("ray.io/v1alpha1", "RayCluster").storage is False
    assert schema_store.kinds_in_group("ray.io") == {"RayCluster", "RayJob", "RayService", "RayCronJob"}
    assert schema_store.versions_of("ray.io", "RayCluster") == {"v1", "v1alpha1"}
    assert schema_store.versions_of("ray.io", "RayCronJob") == {"v1"}
    assert schema_store.kinds_in_group("monitoring.coreos.com") == {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
    assert schema_store.kinds_in_group("argoproj.io") == {"Application", "ApplicationSet", "AppProject"}


def test_unknown_version_or_kind_in_a_held_group_has_no_schema(schema_store):
    assert schema_store.schema_for("ray.io/v2", "RayCluster") is None
    assert schema_store.schema_for("ray.io/v1", "RayClusters") is None
    assert schema_store.holds_group("ray.io")
    assert not schema_store.holds_group("example.com")
    assert schema_store.is_namespaced("ray.io/v2", "RayCluster") is None


def test_builtin_kinds_of_kubernetes_1_33(schema_store):
    assert schema_store.kubernetes_version == "1.33"
    service = schema_store.schema_for("v1", "Service")
    assert (service.group, service.is_crd, service.namespaced) == ("", False, True)
    assert schema_store.holds_group("")
    assert {"Service", "ConfigMap", "Namespace", "Pod"} <= schema_store.kinds_in_group("")
    assert "ServiceList" not in schema_store.kinds_in_group("")
    assert schema_store.is_namespaced("v1", "Namespace") is False
    assert schema_store.is_namespaced("rbac.authorization.k8s.io/v1", "ClusterRole") is False
    assert schema_store.is_namespaced("apps/v1", "Deployment") is True
    assert schema_store.versions_of("autoscaling", "HorizontalPodAutoscaler") == {"v1", "v2"}


def test_builtin_schema_is_converted_to_the_crd_dialect(schema_store):
    spec = schema_store.schema_for("v1", "Service").schema["properties"]["spec"]["properties"]
    port = spec["ports"]["items"]["properties"]
    assert port["targetPort"].get("x-kubernetes-int-or-string") is True  # was oneOf [string, integer]
    assert "$ref" not in str(spec)
    container = schema_store.schema_for("v1", "Pod").schema["properties"]["spec"]["properties"]["containers"]["items"]
    assert container["properties"]["resources"]["properties"]["limits"]["additionalProperties"]["format"] == "quantity"


def test_all_schemas_lists_crds_and_builtins(schema_store):
    schemas = list(schema_store.all_schemas())
    listed = {(s.api_version, s.kind) for s in schemas}
    assert {("ray.io/v1", "RayJob"), ("v1", "ConfigMap"), ("argoproj.io/v1alpha1", "Application")} <= listed
    assert schema_store.kinds() == sorted((s.group, s.version, s.kind) for s in schemas)


def test_kubernetes_version_is_selectable(schema_store):
    older = SchemaStore.open(schema_store.cache_dir, "1.30")
    assert older.kubernetes_version == "1.30"
    # resource.k8s.io served only v1alpha2 in 1.30, v1beta1/v1beta2 (and v1alpha3) in 1.33
    assert older.versions_of("resource.k8s.io", "ResourceClaim") == {"v1alpha2"}
    assert "v1beta2" in schema_store.versions_of("resource.k8s.io", "ResourceClaim")
    with pytest.raises(SchemaStoreError, match=r"Kubernetes 1\.20 is not in .*choose one of 1\.25, .*1\.37"):
        SchemaStore.open(schema_store.cache_dir, "1.20")


# ---------------------------------------------------------------- fetch refuses what is not pinned


def test_fetch_refuses_a_file_with_one_byte_changed(tmp_path, mirror, monkeypatch):
    monkeypatch.delenv("RAYGITOPS_CRD_MIRROR", raising=False)  # else open() rebuilds from it
    tampered = tmp_path / "mirror"
    shutil.copytree(mirror, tampered)
    target = tampered / "kuberay-v1.7.0" / "ray.io_rayjobs.yaml"
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    data[100] = ord("X") if data[100] != ord("X") else ord("Y")
    target.write_bytes(bytes(data))
    cache = tmp_path / "cache"

    with pytest.raises(SchemaFetchError) as caught:
        fetch(cache, tampered)

    message = str(caught.value)
    assert "kuberay-v1.7.0/ray.io_rayjobs.yaml: sha256 mismatch" in message
    assert "expected 01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5" in message
    assert f"got {hashlib.sha256(bytes(data)).hexdigest()}" in message
    with pytest.raises(SchemaStoreError, match="no usable schema store"):
        SchemaStore.open(cache)  # nothing was written


def test_failed_fetch_leaves_the_previous_store_intact(tmp_path, mirror):
    cache = tmp_path / "cache"
    lock = small_lock(tmp_path)
    fetch(cache, mirror, lock_path=lock)
    (tmp_path / "bad").mkdir()
    bad_lock = small_lock(tmp_path / "bad", sha256="0" * 64)
    with pytest.raises(SchemaFetchError, match="sha256 mismatch"):
        fetch(cache, mirror, lock_path=bad_lock)
    [manifest_path] = cache.glob("crd-*/manifest.json")
    manifest = manifest_path.read_text()
    assert hashlib.sha256(lock.read_bytes()).hexdigest() in manifest


def test_fetch_reports_a_file_missing_from_the_mirror(tmp_path):
    with pytest.raises(SchemaFetchError, match=r"prometheus-operator-v0\.93\.0/monitoring\.coreos\.com_prometheusrules\.yaml: cannot read it from the mirror folder"):
        fetch(tmp_path / "cache", tmp_path / "empty-mirror", lock_path=small_lock(tmp_path))


def test_download_goes_through_the_url_and_checks_it_too(tmp_path, mirror, monkeypatch):
    # A file:// URL exercises the download path without network. No mirror: CI exports one.
    monkeypatch.delenv("RAYGITOPS_CRD_MIRROR", raising=False)
    entry = next(e for e in read_lock().crds if e.name == SMALL_ENTRY)
    good = small_lock(tmp_path, url=(mirror / entry.path).resolve().as_uri())
    report = fetch(tmp_path / "cache", None, lock_path=good)
    assert [f.source for f in report.files] == [(mirror / entry.path).resolve().as_uri()]
    assert "PrometheusRule monitoring.coreos.com/v1" in str(report)
    (tmp_path / "gone").mkdir()
    missing = small_lock(tmp_path / "gone", url=(tmp_path / "nowhere.yaml").as_uri())
    with pytest.raises(SchemaFetchError, match="download from file:.*nowhere.yaml failed"):
        fetch(tmp_path / "other-cache", None, lock_path=missing)


# ---------------------------------------------------------------- missing or stale store


def test_missing_store_asks_for_a_fetch(tmp_path, monkeypatch):
    monkeypatch.delenv("RAYGITOPS_CRD_MIRROR", raising=False)
    with pytest.raises(SchemaStoreError) as caught:
        SchemaStore.open(tmp_path / "never-fetched")
    assert str(caught.value).endswith(FETCH_HINT)
    assert FETCH_HINT == "run `raygitops schemas fetch`"


def test_store_built_from_another_lock_is_never_read(tmp_path, mirror, monkeypatch):
    cache = tmp_path / "cache"
    fetch(cache, mirror, lock_path=small_lock(tmp_path))  # not the lock this raygitops ships
    monkeypatch.delenv("RAYGITOPS_CRD_MIRROR", raising=False)
    with pytest.raises(SchemaStoreError, match="no usable schema store") as caught:
        SchemaStore.open(cache)  # nothing to rebuild the shipped lock from
    assert str(caught.value).endswith(FETCH_HINT)
    monkeypatch.setenv("RAYGITOPS_CRD_MIRROR", str(mirror))
    store = SchemaStore.open(cache)  # rebuilt from the mirror for the shipped lock
    assert store.schema_for("ray.io/v1", "RayCluster") is not None


# ---------------------------------------------------------------- where the cache lives


def test_cache_dir_is_the_users_cache_folder_never_the_work_tree(tmp_path, monkeypatch, repo_root):
    monkeypatch.chdir(repo_root / "overlays")
    monkeypatch.setenv("RAYGITOPS_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("RAYGITOPS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "raygitops"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "raygitops"


def test_cache_holds_json_not_pickle(schema_store):
    files = [p for p in schema_store.cache_dir.rglob("*") if p.is_file() and "downloads" not in p.parts]
    assert files and all(p.suffix == ".json" for p in files)
    for path in files:
        json.loads(path.read_bytes())  # plain data: nothing in it can run on load
