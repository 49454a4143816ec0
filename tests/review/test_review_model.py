"""The pieces of `raygitops diff` on small fixtures of our own: capacity arithmetic, KubeRay's hash, Argo CD's paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from raygitops.review.argocd import parse_jq_path, read_argocd
from raygitops.review.capacity import capacity_of, parse_quantity
from raygitops.review.kuberay import ClusterChange, compare_clusters
from raygitops.review.report import FORMATS as REPORT_FORMATS
from raygitops.inputs.documents import load_stream
from raygitops.targets import PROD_TARGETS, VALIDATE_TARGETS

CLUSTER = yaml.safe_load("""
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: c, namespace: ns}
spec:
  enableInTreeAutoscaling: true
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        initContainers:
          - name: warm-cache
            resources: {requests: {cpu: "4", memory: 1Gi}}
        containers:
          - name: ray-head
            resources: {limits: {cpu: "1", memory: 2Gi}}   # no requests: the API server copies the limits
  workerGroupSpecs:
    - groupName: gpu
      replicas: 0
      minReplicas: 0
      maxReplicas: 3
      numOfHosts: 2
      rayStartParams: {}
      template:
        spec:
          tolerations: [{key: nvidia.com/gpu, operator: Exists}]
          containers:
            - name: ray-worker
              resources:
                requests: {cpu: 500m, memory: 512Mi, nvidia.com/gpu: 1}
                limits: {cpu: "1", memory: 512Mi, nvidia.com/gpu: 1}
    - groupName: parked
      suspend: true
      maxReplicas: 10
      rayStartParams: {}
      template: {spec: {containers: [{name: w, resources: {requests: {cpu: "8"}}}]}}
""")


def test_full_scale_capacity_follows_kuberay_and_the_scheduler() -> None:
    (workload,) = capacity_of([CLUSTER]).workloads
    # Head: max(init 4 CPU, 1 CPU + autoscaler 0.5) = 4 CPUs; memory max(1Gi, 2Gi + 512Mi) = 2.5 GiB.
    # Workers: 3 replicas x 2 hosts = 6 pods of 0.5 CPU, 512Mi, 1 GPU. The suspended group counts zero.
    assert workload.resources.to_dict() == {"cpu": 7, "gpu": 6, "memory_gib": 5.5}


def test_without_autoscaling_full_scale_is_replicas_clamped_to_min_max() -> None:
    body = yaml.safe_load(yaml.safe_dump(CLUSTER))
    body["spec"]["enableInTreeAutoscaling"] = False
    body["spec"]["workerGroupSpecs"][0].update(replicas=9)  # above max: KubeRay runs maxReplicas
    (workload,) = capacity_of([body]).workloads
    assert workload.resources.to_dict() == {"cpu": 7, "gpu": 6, "memory_gib": 5.0}


def test_autoscaling_group_without_max_is_reported_unbounded() -> None:
    body = yaml.safe_load(yaml.safe_dump(CLUSTER))
    del body["spec"]["workerGroupSpecs"][0]["maxReplicas"]
    (workload,) = capacity_of([body]).workloads
    assert workload.unbounded == ("gpu",)


@pytest.mark.parametrize(("text", "value"), [("500m", 0.5), ("4Gi", 4 * 2**30), ("1e3", 1000), (2, 2), ("1.5", 1.5), ("x", None)])
def test_quantities(text: object, value: float | None) -> None:
    parsed = parse_quantity(text)
    assert (float(parsed) if parsed is not None else None) == value


def _changed(**edits: object) -> dict:
    spec = yaml.safe_load(yaml.safe_dump(CLUSTER["spec"]))
    for path, value in edits.items():
        node = spec
        *parents, leaf = path.split("__")
        for step in parents:
            node = node[int(step)] if step.isdigit() else node[step]
        node[leaf] = value
    return spec


@pytest.mark.parametrize(
    ("edits", "rayservice", "verdict"),
    [
        ({"workerGroupSpecs__0__maxReplicas": 5}, True, ClusterChange.MUTED_ONLY),
        ({"workerGroupSpecs__0__template__spec__tolerations": []}, False, ClusterChange.MUTED_ONLY),
        ({"suspend": True}, True, ClusterChange.MUTED_ONLY),  # the RayService controller mutes suspend
        ({"suspend": True}, False, ClusterChange.REBUILD),  # the RayCluster one does not
        ({"upgradeStrategy": {"type": "Recreate"}}, False, ClusterChange.MUTED_ONLY),
        ({"headGroupSpec__rayStartParams": {"num-cpus": "0"}}, True, ClusterChange.REBUILD),
        ({"workerGroupSpecs__0__template__spec__containers__0__resources__limits__cpu": 1}, True, ClusterChange.NONE),
    ],
)
def test_kuberay_hash_model(edits: dict, rayservice: bool, verdict: ClusterChange) -> None:
    assert compare_clusters(CLUSTER["spec"], _changed(**edits), rayservice=rayservice) is verdict


def test_worker_groups_appended_at_the_end_only() -> None:
    appended = _changed()
    appended["workerGroupSpecs"].append(dict(appended["workerGroupSpecs"][0], groupName="more"))
    assert compare_clusters(CLUSTER["spec"], appended, rayservice=True) is ClusterChange.GROUPS_APPENDED
    inserted = _changed()
    inserted["workerGroupSpecs"].insert(0, dict(inserted["workerGroupSpecs"][0], groupName="more"))
    assert compare_clusters(CLUSTER["spec"], inserted, rayservice=True) is ClusterChange.REBUILD


def test_argocd_paths() -> None:
    assert parse_jq_path(".spec.workerGroupSpecs[].replicas") == ("spec", "workerGroupSpecs", "*", "replicas")
    assert parse_jq_path(".spec.x[2]") == ("spec", "x", 2)
    assert parse_jq_path('.spec.x[] | select(.name == "a")') is None
    documents, _ = load_stream("""
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: apps}
spec:
  generators:
    - matrix:
        generators:
          - git: {directories: [{path: overlays/*}, {path: overlays/skip, exclude: true}]}
          - clusters: {}
  template:
    spec:
      ignoreDifferences:
        - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
      syncPolicy: {automated: {prune: false}}
""", "argocd")
    policy = read_argocd(documents).policy_for("overlays/gpu")
    assert policy is not None and policy.prune is False and policy.respect_ignore is False
    assert policy.ignored("apps", "Deployment", "ns", "web", ("spec", "replicas"))
    assert not policy.ignored("apps", "Deployment", "ns", "web", ("spec", "template"))
    assert read_argocd(documents).policy_for("elsewhere/x") is None


def test_make_validate_uses_the_package_target_list(repo_root: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "validate", f"BIN={Path(sys.executable).parent}"],
        cwd=repo_root, capture_output=True, text=True, check=True,
    )
    # One call: .raygitops.yaml puts overlays/prod under the prod profile.
    [line] = [line.split() for line in result.stdout.splitlines() if "raygitops validate" in line]
    assert line[-len(VALIDATE_TARGETS) - len(PROD_TARGETS) :] == [*VALIDATE_TARGETS, *PROD_TARGETS]


@pytest.mark.parametrize("output", REPORT_FORMATS)
def test_diff_accepts_every_format_the_report_writes(output: str) -> None:
    from raygitops.cli import build_parser

    args = build_parser().parse_args(["diff", "--output", output])
    assert args.output == output
