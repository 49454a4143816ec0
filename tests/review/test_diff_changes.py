"""`raygitops diff` on real commits to a copy of this project: each kind of change, its effects and capacity."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from raygitops.cli import main

from .conftest import Repo, effects_of, git, target

GPU = "overlays/gpu"


def edit_yaml(repo: Repo, relative: str, change: Any) -> None:
    path = repo.root / relative
    body = yaml.safe_load(path.read_text())
    change(body)
    path.write_text(yaml.safe_dump(body, sort_keys=False))


def workload(report: dict[str, Any], path: str, side: str, kind: str, name: str) -> dict[str, Any]:
    (entry,) = [w for w in target(report, path)["capacity"][side]["workloads"] if w["kind"] == kind and w["name"] == name]
    return entry


# --- RayCluster ---------------------------------------------------------------------------------------------

HEAD_IMAGE = "            image: rayproject/ray\n"  # the head's container (the worker's is indented deeper)


def test_pod_template_change_with_recreate_deletes_every_pod(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("base/raycluster.yaml", HEAD_IMAGE, HEAD_IMAGE.replace("ray\n", "ray-gpu\n"))
    repo.commit("the CUDA image on the head")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    effects = effects_of(report, GPU, "RayCluster", "raycluster-kuberay")
    assert effects["raycluster-pods-recreated"]["severity"] == "danger"
    assert "headGroupSpec.template.spec.containers[0].image" in effects["raycluster-pods-recreated"]["message"]
    assert "raycluster-change-not-applied" not in effects
    # The same change gates a merge only when asked to.
    code, _, _ = repo.diff(monkeypatch, capsys, "--base", "HEAD~1", "--head", "HEAD", "--fail-on", "raycluster-pods-recreated", GPU)
    assert code == 1
    code, _, _ = repo.diff(monkeypatch, capsys, "--base", "HEAD~1", "--head", "HEAD", "--fail-on", "rayjob-new-run,resource-deleted", GPU)
    assert code == 0


def test_pod_template_change_without_recreate_is_not_applied(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("base/raycluster.yaml", "  upgradeStrategy: {type: Recreate}\n", "")
    repo.commit("no Recreate")
    repo.edit("base/raycluster.yaml", "memory: 4Gi", "memory: 6Gi", count=2)  # the head's requests and limits
    repo.commit("more head memory")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    effects = effects_of(report, GPU, "RayCluster", "raycluster-kuberay")
    assert effects["raycluster-change-not-applied"]["severity"] == "warning"
    assert "raycluster-pods-recreated" not in effects
    # The head asks for 2 GiB more at full scale.
    before = workload(report, GPU, "before", "RayCluster", "raycluster-kuberay")
    after = workload(report, GPU, "after", "RayCluster", "raycluster-kuberay")
    assert after["memory_gib"] - before["memory_gib"] == 2
    assert "capacity-changed" in effects


def test_max_replicas_change_scales_and_changes_capacity(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("base/raycluster.yaml", "maxReplicas: 4", "maxReplicas: 8")
    repo.commit("twice the CPU workers")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    effects = effects_of(report, GPU, "RayCluster", "raycluster-kuberay")
    assert effects["raycluster-scaled"]["message"] == "cpu-group maxReplicas 4 -> 8"
    assert "raycluster-pods-recreated" not in effects  # min/max are outside KubeRay's hash
    # Four more workers of 2 CPUs and 4 GiB each, in the overlay's total too.
    capacity = target(report, GPU)["capacity"]
    assert capacity["after"]["cpu"] - capacity["before"]["cpu"] == 8
    assert capacity["after"]["memory_gib"] - capacity["before"]["memory_gib"] == 16
    assert capacity["after"]["gpu"] == capacity["before"]["gpu"]
    assert effects["capacity-changed"]["severity"] == "info"


def test_replicas_change_is_hidden_by_argocd_ignore_differences(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("base/raycluster.yaml", "      replicas: 0\n", "      replicas: 2\n")
    repo.commit("start with two workers")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    effects = effects_of(report, GPU, "RayCluster", "raycluster-kuberay")
    assert set(effects) == {"field-ignored-by-argocd"}
    assert "spec.workerGroupSpecs[0].replicas" in effects["field-ignored-by-argocd"]["message"]
    assert "raygitops-overlays" in effects["field-ignored-by-argocd"]["message"]
    assert "applied only when another change to this resource is synced (ApplyOutOfSyncOnly)" in effects["field-ignored-by-argocd"]["message"]


def test_new_worker_group_with_recreate_restarts_the_cluster(repo: Repo, monkeypatch, capsys) -> None:
    def add_group(body: dict[str, Any]) -> None:
        group = dict(body["spec"]["workerGroupSpecs"][0], groupName="big-cpu-group", maxReplicas=1)
        body["spec"]["workerGroupSpecs"].append(group)

    edit_yaml(repo, "base/raycluster.yaml", add_group)
    repo.commit("a second CPU group")
    effects = effects_of(repo.diff_json(monkeypatch, capsys, GPU), GPU, "RayCluster", "raycluster-kuberay")
    # The group list is part of the hash a Recreate cluster compares: every pod goes.
    assert "raycluster-pods-recreated" in effects
    assert effects["raycluster-scaled"]["message"] == "worker group big-cpu-group added"


# --- RayService ---------------------------------------------------------------------------------------------

def test_rayservice_cluster_change_builds_a_second_cluster(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("jobs/rayservice-serve.yaml", "memory: 4Gi", "memory: 5Gi", count=2)
    repo.commit("more head memory for serve")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    effects = effects_of(report, GPU, "RayService", "diabetes-serve")
    effect = effects["rayservice-new-cluster"]
    assert effect["severity"] == "warning"  # no GPUs in this service
    # Peak: the whole new cluster runs beside the old one.
    service = workload(report, GPU, "after", "RayService", "diabetes-serve")
    assert target(report, GPU)["capacity"]["after"]["peak_extra"] == {
        "cpu": service["cpu"], "gpu": service["gpu"], "memory_gib": service["memory_gib"],
    }
    assert f"{service['cpu']} CPUs, 0 GPUs, {service['memory_gib']} GiB" in effect["message"]


def test_rayservice_gpu_cluster_change_is_danger(repo: Repo, monkeypatch, capsys) -> None:
    def gpu_workers(body: dict[str, Any]) -> None:
        resources = body["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]
        resources["limits"]["nvidia.com/gpu"] = 1
        resources["requests"]["nvidia.com/gpu"] = 1

    edit_yaml(repo, "jobs/rayservice-serve.yaml", gpu_workers)
    repo.commit("serve on a GPU")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    effect = effects_of(report, GPU, "RayService", "diabetes-serve")["rayservice-new-cluster"]
    assert effect["severity"] == "danger"
    # One worker of one GPU: the upgrade needs one more GPU while both clusters run.
    assert target(report, GPU)["capacity"]["after"]["peak_extra"]["gpu"] == 1
    capacity = target(report, GPU)["capacity"]
    assert capacity["after"]["gpu"] - capacity["before"]["gpu"] == 1


def test_rayservice_replicas_change_does_not_reach_the_running_cluster(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("jobs/rayservice-serve.yaml", "maxReplicas: 1", "maxReplicas: 3")
    repo.commit("room for three serve workers")
    effects = effects_of(repo.diff_json(monkeypatch, capsys, GPU), GPU, "RayService", "diabetes-serve")
    # KubeRay v1.7.0's shouldUpdateCluster: an equal hash leaves the RayCluster untouched.
    assert effects["rayservice-change-not-applied"]["severity"] == "warning"
    assert "rayservice-new-cluster" not in effects
    assert "maxReplicas" in effects["rayservice-change-not-applied"]["message"]


def test_rayservice_new_worker_group_is_added_in_place(repo: Repo, monkeypatch, capsys) -> None:
    def add_group(body: dict[str, Any]) -> None:
        groups = body["spec"]["rayClusterConfig"]["workerGroupSpecs"]
        groups.append(dict(groups[0], groupName="burst-group", replicas=1, minReplicas=1, maxReplicas=2))

    edit_yaml(repo, "jobs/rayservice-serve.yaml", add_group)
    repo.commit("a burst group for serve")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    effects = effects_of(report, GPU, "RayService", "diabetes-serve")
    assert effects["rayservice-updated-in-place"]["message"].startswith("worker group burst-group added")
    assert "rayservice-new-cluster" not in effects
    # No autoscaling in this service: full scale is replicas, one more worker of 2 CPUs and 4 GiB.
    before = workload(report, GPU, "before", "RayService", "diabetes-serve")
    after = workload(report, GPU, "after", "RayService", "diabetes-serve")
    assert (after["cpu"] - before["cpu"], after["memory_gib"] - before["memory_gib"]) == (2, 4)
    assert target(report, GPU)["capacity"]["after"]["peak_extra"]["cpu"] == 0


def test_serve_config_change_updates_applications_in_place(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("jobs/rayservice-serve.yaml", "max_replicas: 2", "max_replicas: 3")
    repo.commit("one more serve replica")
    effects = effects_of(repo.diff_json(monkeypatch, capsys, GPU), GPU, "RayService", "diabetes-serve")
    assert set(effects) == {"rayservice-serve-config-updated"}
    assert "changed: diabetes" in effects["rayservice-serve-config-updated"]["message"]
    assert "in place" in effects["rayservice-serve-config-updated"]["message"]


def test_rayservice_upgrade_strategy_none_applies_nothing(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("jobs/rayservice-serve.yaml", "type: NewCluster", "type: None")
    repo.commit("no zero-downtime upgrades")
    repo.edit("jobs/rayservice-serve.yaml", "memory: 4Gi", "memory: 5Gi")
    repo.commit("more head memory")
    effects = effects_of(repo.diff_json(monkeypatch, capsys, GPU), GPU, "RayService", "diabetes-serve")
    assert "upgradeStrategy is None" in effects["rayservice-change-not-applied"]["message"]
    assert "rayservice-new-cluster" not in effects


# --- RayJob, code, deletions --------------------------------------------------------------------------------

def test_rayjob_change_is_not_rerun_and_a_new_rayjob_runs(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("jobs/rayjob-tune.yaml", "--num-samples 16", "--num-samples 32")
    train = (repo.root / "jobs/rayjob-train.yaml").read_text()
    repo.write("jobs/rayjob-eval.yaml", train.replace("  name: diabetes-train\n", "  name: diabetes-eval\n", 1))
    repo.edit("jobs/kustomization.yaml", "  - rayjob-tune.yaml\n", "  - rayjob-tune.yaml\n  - rayjob-eval.yaml\n")
    repo.commit("tune wider, add an eval job")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    assert effects_of(report, GPU, "RayJob", "diabetes-tune")["rayjob-not-rerun"]["severity"] == "warning"
    new_run = effects_of(report, GPU, "RayJob", "diabetes-eval")["rayjob-new-run"]
    assert new_run["severity"] == "info"
    eval_job = workload(report, GPU, "after", "RayJob", "diabetes-eval")
    assert f"{eval_job['cpu']} CPUs" in new_run["message"]


def test_code_change_renames_the_configmap_and_rebuilds_only_its_consumer(repo: Repo, monkeypatch, capsys) -> None:
    path = repo.root / "jobs/serve/serve_app.py"
    path.write_text(path.read_text() + "\n# a reviewed change\n")
    repo.commit("touch the serve app")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    changes = {(c["kind"], c["name"].rsplit("-", 1)[0] if c["kind"] == "ConfigMap" else c["name"]): c for c in target(report, GPU)["changes"]}
    assert changes[("ConfigMap", "ray-serve-code")]["change"] == "renamed"
    # The generated name is in the service's pod templates: a new cluster. The jobs mount their own code.
    assert "rayservice-new-cluster" in {e["id"] for e in changes[("RayService", "diabetes-serve")]["effects"]}
    assert set(changes) == {("ConfigMap", "ray-serve-code"), ("RayService", "diabetes-serve")}


def test_removed_resources_are_pruned(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("jobs/kustomization.yaml", "  - model-store.yaml\n", "")
    repo.edit("jobs/kustomization.yaml", "  - rayservice-serve.yaml\n", "")
    repo.commit("drop the model store and the service")
    report = repo.diff_json(monkeypatch, capsys, GPU)
    pvc = effects_of(report, GPU, "PersistentVolumeClaim", "ray-model-store")["resource-deleted"]
    service = effects_of(report, GPU, "RayService", "diabetes-serve")["resource-deleted"]
    assert pvc["severity"] == service["severity"] == "danger"
    assert "Argo CD prunes" in pvc["message"]
    capacity = target(report, GPU)["capacity"]
    assert "diabetes-serve" not in {w["name"] for w in capacity["after"]["workloads"]}
    code, _, _ = repo.diff(monkeypatch, capsys, "--base", "HEAD~1", "--head", "HEAD", "--fail-on", "resource-deleted", GPU)
    assert code == 1


# --- defaults, outputs, exit codes --------------------------------------------------------------------------

def test_head_defaults_to_the_working_tree_and_checkouts_are_removed(repo: Repo, monkeypatch, capsys, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    repo.edit("base/raycluster.yaml", "maxReplicas: 4", "maxReplicas: 5")  # not committed
    code, out, err = repo.diff(monkeypatch, capsys, GPU)
    assert code == 0, err
    assert "raycluster-scaled: cpu-group maxReplicas 4 -> 5" in out
    assert "HEAD" in out and "working tree" in out
    assert list(scratch.iterdir()) == []
    assert len(git(repo.root, "worktree", "list", "--porcelain").split("\n\n")) == 1


def test_every_default_target_is_diffed(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("base/raycluster.yaml", HEAD_IMAGE, HEAD_IMAGE.replace("ray\n", "ray-gpu\n"))
    repo.commit("the CUDA image on the head")
    report = repo.diff_json(monkeypatch, capsys)
    assert [t["path"] for t in report["targets"]] == ["overlays/dev", "overlays/gpu", "cluster-setup", "argocd", "overlays/prod"]
    for overlay in ("overlays/dev", "overlays/gpu", "overlays/prod"):
        assert "raycluster-pods-recreated" in effects_of(report, overlay, "RayCluster", "raycluster-kuberay")
    assert target(report, "argocd")["changes"] == target(report, "cluster-setup")["changes"] == []


def test_markdown_is_a_pull_request_comment(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("base/raycluster.yaml", "maxReplicas: 4", "maxReplicas: 8")
    repo.commit("twice the CPU workers")
    code, out, _ = repo.diff(monkeypatch, capsys, "--base", "HEAD~1", "--head", "HEAD", "-o", "markdown", GPU)
    assert code == 0
    table = [line for line in out.splitlines() if line.startswith("| `overlays/gpu` |")]
    assert len(table) == 1 and "→" in table[0]  # before and after CPUs in the summary row
    assert "<details><summary><code>overlays/gpu</code>" in out and "</details>" in out
    assert "`raycluster-scaled`: cpu-group maxReplicas 4 -&gt; 8" in out


def test_new_overlay_creates_everything_it_holds(repo: Repo, monkeypatch, capsys) -> None:
    shutil.copytree(repo.root / "overlays/dev", repo.root / "overlays/staging")
    repo.edit("overlays/staging/kustomization.yaml", "namespace: ray-dev", "namespace: ray-staging")
    repo.commit("a staging overlay")
    report = repo.diff_json(monkeypatch, capsys, "overlays/staging", "overlays/dev")
    staging, dev = target(report, "overlays/staging"), target(report, "overlays/dev")
    assert {c["change"] for c in staging["changes"]} == {"added"}
    runs = [c["name"] for c in staging["changes"] if any(e["id"] == "rayjob-new-run" for e in c["effects"])]
    assert sorted(runs) == ["diabetes-train", "diabetes-tune"]
    assert staging["capacity"]["before"]["cpu"] == 0
    # The same manifests in another namespace: exactly dev's capacity.
    assert staging["capacity"]["after"]["cpu"] == dev["capacity"]["after"]["cpu"] > 0
    assert dev["changes"] == []


def test_no_change_reports_nothing(repo: Repo, monkeypatch, capsys) -> None:
    code, out, _ = repo.diff(monkeypatch, capsys, "--base", "HEAD", "-o", "json", "--fail-on", "resource-deleted", GPU)
    assert code == 0
    assert target(json.loads(out), GPU)["changes"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-branch"], "no such commit"),
        (["--fail-on", "raycluster-exploded"], "unknown effect id raycluster-exploded"),
        (["/"], "outside the repository"),
        (["overlays/staging"], "overlays/staging: no kustomization there at HEAD"),
    ],
)
def test_cannot_run_exits_2_with_one_line(repo: Repo, monkeypatch, capsys, args: list[str], message: str) -> None:
    code, out, err = repo.diff(monkeypatch, capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert out == ""


def test_a_target_that_does_not_render_exits_2_naming_it(repo: Repo, monkeypatch, capsys) -> None:
    repo.edit("overlays/gpu/kustomization.yaml", "  - ../../jobs\n", "  - ../../jobs-missing\n")
    code, _, err = repo.diff(monkeypatch, capsys, GPU)
    assert code == 2
    assert "overlays/gpu at working tree" in err


def test_outside_a_git_repository_exits_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["diff"]) == 2
    assert "not inside a git repository" in capsys.readouterr().err

