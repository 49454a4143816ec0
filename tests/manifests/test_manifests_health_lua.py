"""The Argo CD health checks for ray.io kinds, run with a real Lua 5.1 (Argo CD embeds gopher-lua,
a Lua 5.1) against status objects shaped like those KubeRay 1.7 writes.

The scripts are taken from the rendered argocd-cm, i.e. exactly what `kubectl apply -k argocd`
installs."""

from __future__ import annotations

from typing import Any

import pytest
from lupa.lua51 import LuaRuntime

from .bundle import Bundle

HEALTH_KEY = "resource.customizations.health.{group}_{kind}"


def run_health_check(script: str, obj: dict[str, Any]) -> tuple[str, str]:
    lua = LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(script)
    return result["status"], result["message"]


@pytest.fixture(scope="module")
def scripts(argocd: Bundle) -> dict[str, str]:
    config = argocd.one("ConfigMap", "argocd-cm")["data"]
    return {
        kind: config[HEALTH_KEY.format(group=group, kind=kind)]
        for group, kind in [("ray.io", "RayCluster"), ("ray.io", "RayJob"), ("ray.io", "RayService"), ("argoproj.io", "Application")]
    }


def condition(type_: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": "2026-11-25T20:00:00Z"}


def ray_cluster(status: dict | None, generation: int = 1) -> dict:
    obj = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "raycluster-kuberay", "generation": generation}}
    if status is not None:
        obj["status"] = status
    return obj


RAYCLUSTER_CASES = {
    "no status yet": (ray_cluster(None), "Progressing", "Waiting for the KubeRay operator"),
    "ready": (
        ray_cluster({
            "state": "ready", "observedGeneration": 1, "readyWorkerReplicas": 2, "desiredWorkerReplicas": 3,
            "conditions": [
                condition("RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime"),
                condition("HeadPodReady", "True", "HeadPodRunningAndReady"),
            ],
        }),
        "Healthy", "2/3 workers ready",
    ),
    "ready without conditions (feature gate off)": (ray_cluster({"state": "ready"}), "Healthy", "Ray cluster ready"),
    "head starting": (
        ray_cluster({
            "observedGeneration": 1,
            "conditions": [
                condition("RayClusterProvisioned", "False", "RayClusterPodsProvisioning"),
                condition("HeadPodReady", "False", "HeadPodNotFound"),
            ],
        }),
        "Progressing", "HeadPodNotFound",
    ),
    "spec change not yet observed": (
        ray_cluster({"state": "ready", "observedGeneration": 3}, generation=4), "Progressing", "generation 4",
    ),
    "pod creation failing": (
        ray_cluster({
            "observedGeneration": 1,
            "conditions": [condition("ReplicaFailure", "True", "FailedCreateWorkerPod", 'pods "w" is forbidden: exceeded quota')],
        }),
        "Degraded", "exceeded quota",
    ),
    "head lost after provisioning": (
        ray_cluster({
            "state": "ready", "observedGeneration": 1,
            "conditions": [
                condition("RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime"),
                condition("HeadPodReady", "False", "HeadPodNotFound"),
            ],
        }),
        "Degraded", "Head pod not ready",
    ),
    "suspended": (
        ray_cluster({"state": "suspended", "conditions": [condition("RayClusterSuspended", "True")]}), "Suspended", "suspended",
    ),
    "suspending": (ray_cluster({"conditions": [condition("RayClusterSuspending", "True")]}), "Progressing", "suspending"),
    "failed (state of KubeRay before conditions)": (
        ray_cluster({"state": "failed", "reason": "RayClusterSpec is invalid"}), "Degraded", "RayClusterSpec is invalid",
    ),
}


@pytest.mark.parametrize("case", RAYCLUSTER_CASES)
def test_raycluster_health(scripts, case):
    obj, expected_status, expected_message = RAYCLUSTER_CASES[case]
    status, message = run_health_check(scripts["RayCluster"], obj)
    assert status == expected_status
    assert expected_message in message


def ray_job(status: dict | None) -> dict:
    obj = {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "rayjob-train", "generation": 1}}
    if status is not None:
        obj["status"] = status
    return obj


RAYJOB_CASES = {
    "no status yet": (ray_job(None), "Progressing", "Waiting"),
    "new": (ray_job({"jobDeploymentStatus": ""}), "Progressing", "Waiting for the KubeRay operator"),
    "cluster initializing": (ray_job({"jobDeploymentStatus": "Initializing"}), "Progressing", "Initializing"),
    "running": (ray_job({"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}), "Progressing", "RUNNING"),
    "retrying": (ray_job({"jobDeploymentStatus": "Retrying", "failed": 1}), "Progressing", "Retrying"),
    "succeeded": (ray_job({"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}), "Healthy", "succeeded"),
    "program failed": (
        ray_job({"jobDeploymentStatus": "Complete", "jobStatus": "FAILED", "message": "Job entrypoint command failed with exit code 1"}),
        "Degraded", "exit code 1",
    ),
    "stopped by a user": (ray_job({"jobDeploymentStatus": "Complete", "jobStatus": "STOPPED"}), "Degraded", "STOPPED"),
    "deadline exceeded": (
        ray_job({"jobDeploymentStatus": "Failed", "reason": "DeadlineExceeded", "message": "activeDeadlineSeconds 600 reached"}),
        "Degraded", "DeadlineExceeded",
    ),
    "rejected by the operator": (
        ray_job({"jobDeploymentStatus": "ValidationFailed", "reason": "ValidationFailed", "message": "The RayJob spec is invalid"}),
        "Degraded", "spec is invalid",
    ),
    "suspending": (ray_job({"jobDeploymentStatus": "Suspending"}), "Progressing", "Suspending"),
    "suspended": (ray_job({"jobDeploymentStatus": "Suspended"}), "Suspended", "suspended"),
    "interactive mode waiting for a job id": (ray_job({"jobDeploymentStatus": "Waiting"}), "Suspended", "InteractiveMode"),
    "submission failed": (
        ray_job({"jobDeploymentStatus": "Failed", "reason": "SubmissionFailed", "message": "submitter exited"}), "Degraded", "SubmissionFailed",
    ),
}


@pytest.mark.parametrize("case", RAYJOB_CASES)
def test_rayjob_health(scripts, case):
    obj, expected_status, expected_message = RAYJOB_CASES[case]
    status, message = run_health_check(scripts["RayJob"], obj)
    assert status == expected_status
    assert expected_message in message


def ray_service(status: dict | None, generation: int = 1) -> dict:
    obj = {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "rayservice-serve", "generation": generation}}
    if status is not None:
        obj["status"] = status
    return obj


def serving(apps: dict[str, str]) -> dict:
    return {"applicationStatuses": {name: {"status": state, "message": f"{name} says {state}"} for name, state in apps.items()}}


RAYSERVICE_CASES = {
    "no status yet": (ray_service(None), "Progressing", "Waiting"),
    "initializing": (
        ray_service({"observedGeneration": 1, "conditions": [condition("Ready", "False", "Initializing")]}),
        "Progressing", "Waiting for the Serve applications",
    ),
    "ready": (
        ray_service({
            "observedGeneration": 1, "numServeEndpoints": 2, "activeServiceStatus": serving({"predictor": "RUNNING"}),
            "conditions": [condition("Ready", "True", "NonZeroServeEndpoints"), condition("UpgradeInProgress", "False", "NoPendingCluster")],
        }),
        "Healthy", "2 endpoint",
    ),
    "upgrading while serving": (
        ray_service({
            "observedGeneration": 1, "activeServiceStatus": serving({"predictor": "RUNNING"}),
            "conditions": [condition("Ready", "True", "NonZeroServeEndpoints"), condition("UpgradeInProgress", "True", "BothActivePendingClustersExist")],
        }),
        "Progressing", "Upgrade in progress",
    ),
    "never became ready": (
        ray_service({"observedGeneration": 1, "conditions": [condition("Ready", "False", "InitializingTimeout", "not ready after 900s")]}),
        "Degraded", "InitializingTimeout",
    ),
    "lost its endpoints": (
        ray_service({"observedGeneration": 1, "conditions": [condition("Ready", "False", "ZeroServeEndpoints")]}),
        "Degraded", "ZeroServeEndpoints",
    ),
    "application failed to deploy": (
        ray_service({
            "observedGeneration": 1, "activeServiceStatus": serving({"predictor": "DEPLOY_FAILED"}),
            "conditions": [condition("Ready", "True", "NonZeroServeEndpoints")],
        }),
        "Degraded", "predictor is DEPLOY_FAILED",
    ),
    "spec change not yet observed": (
        ray_service({"observedGeneration": 1, "conditions": [condition("Ready", "True")]}, generation=2), "Progressing", "generation 2",
    ),
    "suspending": (
        ray_service({
            "observedGeneration": 2,
            "conditions": [condition("Ready", "False", "SuspendRequested"), condition("Suspending", "True", "SuspendInProgress")],
        }, generation=2),
        "Progressing", "suspending",
    ),
    "suspended": (
        ray_service({
            "observedGeneration": 2,
            "conditions": [condition("Ready", "False", "SuspendComplete"), condition("Suspending", "False"), condition("Suspended", "True", "SuspendComplete")],
        }, generation=2),
        "Suspended", "suspended",
    ),
    "resumed after a suspension": (
        ray_service({
            "observedGeneration": 3, "numServeEndpoints": 1, "activeServiceStatus": serving({"predictor": "RUNNING"}),
            "conditions": [condition("Ready", "True", "NonZeroServeEndpoints"), condition("Suspended", "False", "RayServiceResumed")],
        }, generation=3),
        "Healthy", "1 endpoint",
    ),
    "rolling back an upgrade while serving": (
        ray_service({
            "observedGeneration": 4, "activeServiceStatus": serving({"predictor": "RUNNING"}),
            "conditions": [condition("Ready", "True", "NonZeroServeEndpoints"), condition("UpgradeInProgress", "True", "BothActivePendingClustersExist"),
                           condition("RollbackInProgress", "True")],
        }, generation=4),
        "Progressing", "Rolling back",
    ),
    "upgrade stuck: the new cluster's application failed": (
        ray_service({
            "observedGeneration": 1, "activeServiceStatus": serving({"predictor": "RUNNING"}),
            "pendingServiceStatus": serving({"predictor": "DEPLOY_FAILED"}),
            "conditions": [condition("Ready", "True", "NonZeroServeEndpoints"), condition("UpgradeInProgress", "True", "BothActivePendingClustersExist")],
        }),
        "Degraded", "Upgrade stuck",
    ),
    "no active cluster after a failed start": (
        ray_service({"observedGeneration": 1, "conditions": [condition("Ready", "False", "ValidationFailed", "spec is invalid")]}),
        "Degraded", "ValidationFailed",
    ),
}


@pytest.mark.parametrize("case", RAYSERVICE_CASES)
def test_rayservice_health(scripts, case):
    obj, expected_status, expected_message = RAYSERVICE_CASES[case]
    status, message = run_health_check(scripts["RayService"], obj)
    assert status == expected_status
    assert expected_message in message


def child_application(*, target: str = "v1.7.0", compared: str | None = "v1.7.0", sync: str = "Synced",
                      health: str | None = "Healthy", operation: str | None = None) -> dict:
    """An Application as the root Application sees it: asked for `target`, last compared against `compared`."""
    source = {"repoURL": "https://github.com/ray-project/kuberay.git", "path": "helm-chart/kuberay-operator/crds"}
    obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "kuberay-crds"},
           "spec": {"source": {**source, "targetRevision": target}}}
    status: dict = {}
    if health is not None:
        status["health"] = {"status": health, "message": f"child is {health}"}
    if compared is not None:
        status["sync"] = {"status": sync, "revision": "0123abc", "comparedTo": {"source": {**source, "targetRevision": compared}}}
    if operation is not None:
        status["operationState"] = {"phase": operation}
    if status:
        obj["status"] = status
    return obj


APPLICATION_CASES = {
    "not assessed yet": (child_application(health=None, compared=None), "Progressing", "assessed"),
    "synced and healthy at the requested revision": (child_application(), "Healthy", "child is Healthy"),
    "synced but degraded": (child_application(health="Degraded"), "Degraded", "child is Degraded"),
    # The root just moved the child to a new revision: its health is still that of the old one.
    "healthy, but compared against the previous revision": (
        child_application(target="v1.8.0", compared="v1.7.0"), "Progressing", "requested revision",
    ),
    "compared against the new revision, not synced yet": (
        child_application(target="v1.8.0", compared="v1.8.0", sync="OutOfSync"), "Progressing", "synced",
    ),
    "sync running": (child_application(operation="Running"), "Progressing", "Sync in progress"),
    "last sync done": (child_application(operation="Succeeded"), "Healthy", "Healthy"),
}


@pytest.mark.parametrize("case", APPLICATION_CASES)
def test_application_health_waits_for_the_child_at_the_requested_revision(scripts, case):
    obj, expected_status, expected_message = APPLICATION_CASES[case]
    status, message = run_health_check(scripts["Application"], obj)
    assert status == expected_status
    assert expected_message in message


def test_application_health_compares_every_source_of_a_multi_source_child(scripts):
    values = {"repoURL": "https://example.com/values.git", "targetRevision": "main", "ref": "values"}
    obj = child_application()
    chart = obj["spec"].pop("source")
    obj["spec"]["sources"] = [chart, values]
    obj["status"]["sync"]["comparedTo"] = {"sources": [dict(chart), {**values, "targetRevision": "old"}]}
    assert run_health_check(scripts["Application"], obj)[0] == "Progressing"
    obj["status"]["sync"]["comparedTo"] = {"sources": [dict(chart), dict(values)]}
    assert run_health_check(scripts["Application"], obj)[0] == "Healthy"


def test_shipped_scripts_are_the_files_in_argocd_health(scripts, repo_root):
    for kind, script in scripts.items():
        assert script == (repo_root / "argocd" / "health" / f"{kind.lower()}.lua").read_text()
