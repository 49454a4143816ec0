"""Every Git change to a RayCluster reaches the cluster under the ApplicationSet's sync settings, and
the replica counts the autoscaler chose survive the syncs that do not change the RayCluster.

The sync is replayed (argocd_sync.py follows Argo CD v3.5.1's diff and sync code) on this repository's
rendered RayClusters: Git revision 1 is what the overlay renders today, revision 2 bumps Ray in the
head and in every worker group.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from . import argocd_sync
from .argocd_sync import LiveResource, SyncSettings, create, is_out_of_sync, sync
from .bundle import Bundle, Doc

RAY_VERSION, NEXT_RAY_VERSION = "2.60.0", "2.61.0"
READY = {"state": "ready", "conditions": [{"type": "HeadPodReady", "status": "True"}]}


def ray_version_bump(cluster: Doc) -> Doc:
    """Revision 2 of a RayCluster: the next Ray release in rayVersion and in every Ray image."""
    bumped = copy.deepcopy(cluster)
    bumped["spec"]["rayVersion"] = NEXT_RAY_VERSION
    for group in [bumped["spec"]["headGroupSpec"], *bumped["spec"]["workerGroupSpecs"]]:
        for container in group["template"]["spec"]["containers"]:
            assert f":{RAY_VERSION}" in container["image"], f"{container['image']} is not Ray {RAY_VERSION}"
            container["image"] = container["image"].replace(f":{RAY_VERSION}", f":{NEXT_RAY_VERSION}")
    return bumped


def autoscaled(live: LiveResource) -> LiveResource:
    """The autoscaler scaled every worker group to its maximum (a count Git does not have)."""

    def scale(resource: Doc) -> None:
        for group in resource["spec"]["workerGroupSpecs"]:
            group["replicas"] = group["maxReplicas"]

    return live.with_spec(scale)


def images(resource: Doc) -> dict[str, str]:
    spec = resource["spec"]
    groups = {"head": spec["headGroupSpec"]} | {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    return {name: group["template"]["spec"]["containers"][0]["image"] for name, group in groups.items()}


def replicas(resource: Doc) -> dict[str, int]:
    return {g["groupName"]: g["replicas"] for g in resource["spec"]["workerGroupSpecs"]}


@pytest.fixture(scope="module")
def settings(argocd: Bundle) -> SyncSettings:
    (application_set,) = argocd.of_kind("ApplicationSet")
    return SyncSettings.of(application_set["spec"]["template"]["spec"], "ray.io", "RayCluster")


@pytest.fixture
def cluster(overlay: Bundle) -> Doc:
    (found,) = overlay.of_kind("RayCluster")
    assert found["spec"].get("enableInTreeAutoscaling") is True
    for group in found["spec"]["workerGroupSpecs"]:
        assert group["maxReplicas"] != group["replicas"], "the scenario needs an autoscaled count Git does not have"
    return found


def test_autoscaled_replicas_leave_the_application_synced(cluster, settings):
    live = autoscaled(create(cluster, READY))
    assert not is_out_of_sync(cluster, live, settings), "self-heal would revert the autoscaler"


def test_ray_version_bump_reaches_the_head_and_every_worker_group(cluster, settings):
    live = autoscaled(create(cluster, READY))
    revision_2 = ray_version_bump(cluster)
    assert is_out_of_sync(revision_2, live, settings)

    after = sync(revision_2, live, settings)

    assert images(after.object) == images(revision_2)
    assert after.object["spec"]["rayVersion"] == NEXT_RAY_VERSION
    assert not is_out_of_sync(revision_2, after, settings), "the Application would stay OutOfSync"
    # The applied workerGroupSpecs carry Git's replicas, which are each group's minReplicas: the
    # floor KubeRay clamps to anyway; the Recreate upgrade replaces every pod in any case.
    for group in after.object["spec"]["workerGroupSpecs"]:
        assert group["replicas"] == group["minReplicas"], group["groupName"]


def test_a_sync_without_ray_cluster_changes_keeps_the_autoscaled_replicas(cluster, settings):
    """Another resource of the Application changed (a RayJob, a ConfigMap): the RayCluster is not re-applied."""
    live = autoscaled(create(cluster, READY))
    after = sync(cluster, live, settings)
    assert replicas(after.object) == replicas(live.object)


def test_respect_ignore_differences_would_drop_the_worker_bump(cluster, settings):
    """The setting this repository had: the head is upgraded and the workers are not (argo-cd issue 17694)."""
    respecting = SyncSettings(settings.ignored_jq_paths, respect_ignore_differences=True, apply_out_of_sync_only=False)
    live = autoscaled(create(cluster, READY))
    revision_2 = ray_version_bump(cluster)

    after = sync(revision_2, live, respecting)

    assert images(after.object)["head"].endswith(NEXT_RAY_VERSION + images(cluster)["head"].split(RAY_VERSION)[1])
    for group in cluster["spec"]["workerGroupSpecs"]:
        assert images(after.object)[group["groupName"]] == images(cluster)[group["groupName"]], "worker upgraded"
    assert is_out_of_sync(revision_2, after, respecting)


def test_without_apply_out_of_sync_only_every_sync_resets_the_replicas(cluster, settings):
    every_resource = SyncSettings(settings.ignored_jq_paths, respect_ignore_differences=False, apply_out_of_sync_only=False)
    live = autoscaled(create(cluster, READY))
    after = sync(cluster, live, every_resource)
    assert replicas(after.object) == replicas(cluster)


# --- the replay's JSON patches and jq deletions, checked against Argo CD's own libraries --------------------------------

PRIMITIVES = {  # replay function -> the Go function Argo CD v3.5.1 calls (tools/argocd-sync/main.go)
    "create_merge_patch": "CreateMergePatch",
    "merge_patch": "MergePatch",
    "three_way_merge_patch": "CreateThreeWayJSONMergePatch",
    "jq_delete": "JQDelete",
}
Call = tuple[str, list[Any], Any]  # Go function, arguments, what the replay answered


@pytest.fixture(scope="module")
def argo_cd_libraries(repo_root: Path) -> Callable[[list[Call]], list[Any]]:
    """tools/argocd-sync, built by `make argocd-sync` with the json-patch, apimachinery and gojq versions of Argo CD's go.mod."""
    build = subprocess.run(["make", "-s", "argocd-sync"], cwd=repo_root, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, f"make argocd-sync failed (needs Go and the module proxy):\n{build.stderr}"
    binary = Path(sys.executable).parent / "argocd-sync"

    def answer(calls: list[Call]) -> list[Any]:
        request = json.dumps({"calls": [{"fn": fn, "args": args} for fn, args, _ in calls]})
        done = subprocess.run([binary], input=request, capture_output=True, text=True, timeout=120, check=True)
        return json.loads(done.stdout)["results"]

    return answer


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Call]]:
    """Every outermost JSON patch computation the replay makes while the test runs."""
    calls: list[Call] = []
    depth = [0]
    for name, go_name in PRIMITIVES.items():
        original = getattr(argocd_sync, name)

        def recording(*args: Any, _original=original, _go_name=go_name) -> Any:
            depth[0] += 1
            try:
                result = _original(*args)
            finally:
                depth[0] -= 1
            if depth[0] == 0:
                calls.append((_go_name, copy.deepcopy(list(args)), copy.deepcopy(result)))
            return result

        monkeypatch.setattr(argocd_sync, name, recording)
    yield calls


def test_replayed_patches_are_what_argo_cds_libraries_compute(cluster, settings, recorded, argo_cd_libraries):
    """The three scenarios above, on this overlay's RayCluster: each patch the replay computed, recomputed by Go."""
    revision_2 = ray_version_bump(cluster)
    for variant in (settings, SyncSettings(settings.ignored_jq_paths, True, False), SyncSettings(settings.ignored_jq_paths, False, False)):
        live = autoscaled(create(cluster, READY))
        sync(revision_2, live, variant)
        sync(cluster, live, variant)
        is_out_of_sync(revision_2, sync(revision_2, live, variant), variant)
    assert {fn for fn, _, _ in recorded} == set(PRIMITIVES.values()), "the scenario did not exercise every primitive"
    answers = argo_cd_libraries(recorded)
    for (fn, args, replayed), real in zip(recorded, answers, strict=True):
        assert replayed == real, f"{fn} disagrees with Argo CD's library on {json.dumps(args)[:300]}"
