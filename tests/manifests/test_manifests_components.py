"""Every combination of components an overlay could use keeps each component's promise for every
worker group of every RayCluster, RayJob and RayService, including groups another component adds."""

from __future__ import annotations

import itertools
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from raygitops.inputs.render import render

from .bundle import Bundle, containers, labels_match
from .conftest import REPO_ROOT

# The components that add features, in the order an overlay lists them; pod-hardening and
# ray-version always come last, so they reach the groups the others add.
OPTIONAL = (
    "components/sizes",
    "components/monitoring",
    "components/gpu-workers",
    "components/gcs-fault-tolerance",
    "components/dashboard-ingress",
    "components/disruption-budgets",
    "components/high-priority",
    "jobs/components/gpu",
)
ALWAYS = ("components/pod-hardening", "components/ray-version")
RAY_VERSION = next(
    r.split("==")[1]
    for r in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["jobs"]
    if r.startswith("ray[")
)
# The values an overlay provides (components/dashboard-ingress reads the host, components/sizes the rest),
# each size different from the manifests' own, so that a size that does not arrive shows.
VALUES = """apiVersion: raygitops.io/v1
kind: Values
metadata:
  name: environment
  annotations: {config.kubernetes.io/local-config: "true"}
dashboardHost: ray.test.example
clusterHead: {requests: {cpu: "3", memory: 3Gi}, limits: {cpu: "3", memory: 3Gi}}
clusterWorker: {requests: {cpu: "5", memory: 5Gi}, limits: {cpu: "5", memory: 5Gi}}
clusterMinWorkers: 1
clusterMaxWorkers: 7
jobHead: {requests: {cpu: "2", memory: 6Gi}, limits: {cpu: "2", memory: 6Gi}}
jobWorker: {requests: {cpu: "3", memory: 7Gi}, limits: {cpu: "3", memory: 7Gi}}
jobWorkers: 3
serveWorkers: 2
"""
MAIN = "raycluster-kuberay"
JOBS_IMAGE = "ghcr.io/raygitops/ray-jobs"


def combinations() -> list[tuple[str, ...]]:
    return [c for n in range(len(OPTIONAL) + 1) for c in itertools.combinations(OPTIONAL, n)]


def render_with(folder: Path, components: tuple[str, ...]) -> Bundle:
    folder.mkdir()
    (folder / "values.yaml").write_text(VALUES)
    relative = [os.path.relpath(REPO_ROOT / c, folder) for c in (*components, *ALWAYS)]
    (folder / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": "ray-test",
        "resources": [os.path.relpath(REPO_ROOT / "base", folder), os.path.relpath(REPO_ROOT / "jobs", folder), "values.yaml"],
        "components": relative,
    }))
    text = render(folder)
    return Bundle(str(folder), text, [d for d in yaml.safe_load_all(text) if d])


# --- what each component promises ---------------------------------------------------------------------


def main_cluster(bundle: Bundle) -> dict:
    return bundle.one("RayCluster", MAIN)["spec"]


def main_pods(bundle: Bundle) -> list[tuple[str, dict, dict[str, str]]]:
    """(group, pod spec, the labels KubeRay gives its pods) for the head and every worker group of the main cluster."""
    spec = main_cluster(bundle)
    pods = [("headgroup", spec["headGroupSpec"]["template"]["spec"], "head")]
    pods += [(g["groupName"], g["template"]["spec"], "worker") for g in spec["workerGroupSpecs"]]
    return [(group, pod, {"ray.io/cluster": MAIN, "ray.io/group": group, "ray.io/node-type": node_type, "ray.io/is-ray-node": "yes"})
            for group, pod, node_type in pods]


def serve_pods(bundle: Bundle) -> list[tuple[str, dict[str, str]]]:
    """(group, the labels KubeRay gives its pods) for the head and every worker group of the RayService's
    cluster, whose name KubeRay generates."""
    spec = bundle.one("RayService", "diabetes-serve")["spec"]["rayClusterConfig"]
    groups = [("headgroup", spec["headGroupSpec"], "head")] + [(g["groupName"], g, "worker") for g in spec["workerGroupSpecs"]]
    return [(f"diabetes-serve {name}", {**group["template"].get("metadata", {}).get("labels", {}),
                                        "ray.io/group": name, "ray.io/node-type": node_type, "ray.io/is-ray-node": "yes"})
            for name, group, node_type in groups]


def sizes(bundle: Bundle) -> list[str]:
    values = yaml.safe_load(VALUES)
    problems = []

    def check(label: str, spec: dict, head: str, worker: str, replicas: tuple[int, int, int] | None) -> None:
        if spec["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"] != values[head]:
            problems.append(f"{label} head: not {head}")
        for group in (g for g in spec["workerGroupSpecs"] if g["groupName"] == "cpu-group"):
            if group["template"]["spec"]["containers"][0]["resources"] != values[worker]:
                problems.append(f"{label} cpu-group: not {worker}")
            if replicas and (group["replicas"], group["minReplicas"], group["maxReplicas"]) != replicas:
                problems.append(f"{label} cpu-group: replicas, min, max are not {replicas}")

    check(MAIN, main_cluster(bundle), "clusterHead", "clusterWorker", None)
    group = next(g for g in main_cluster(bundle)["workerGroupSpecs"] if g["groupName"] == "cpu-group")
    if (group["replicas"], group["minReplicas"], group["maxReplicas"]) != (1, 1, 7):
        problems.append(f"{MAIN} cpu-group: replicas, min, max are not clusterMinWorkers, clusterMaxWorkers")
    for job in bundle.of_kind("RayJob"):
        check(job["metadata"]["name"], job["spec"]["rayClusterSpec"], "jobHead", "jobWorker", (3, 3, 3))
    serve = bundle.one("RayService", "diabetes-serve")["spec"]["rayClusterConfig"]
    check("diabetes-serve", serve, "jobHead", "jobWorker", (2, 2, 2))
    return problems


def monitoring(bundle: Bundle) -> list[str]:
    monitors = bundle.of_kind("PodMonitor")
    problems = [f"ServiceMonitor/{m['metadata']['name']}: heads are scraped as pods" for m in bundle.of_kind("ServiceMonitor")]
    for template in bundle.pod_templates():
        if not template.is_ray_node:
            continue
        labels = {"ray.io/node-type": template.node_type, "ray.io/is-ray-node": "yes"}
        scraping = [m for m in monitors if labels_match(m["spec"]["selector"]["matchLabels"], labels)]
        if len(scraping) != 1:
            problems.append(f"{template.where}: scraped by {len(scraping)} PodMonitors")
    return problems


def gpu_limits(container: dict) -> tuple[str | None, str | None]:
    resources = container.get("resources", {})
    return resources.get("requests", {}).get("nvidia.com/gpu"), resources.get("limits", {}).get("nvidia.com/gpu")


def gpu_workers(bundle: Bundle) -> list[str]:
    groups = {g["groupName"]: g for g in main_cluster(bundle)["workerGroupSpecs"]}
    if "gpu-group" not in groups:
        return ["no worker group gpu-group"]
    pod = groups["gpu-group"]["template"]["spec"]
    requested, limited = gpu_limits(pod["containers"][0])
    problems = [] if requested and requested == limited else [f"gpu-group: nvidia.com/gpu requests {requested} limits {limited}"]
    if not any(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations", [])):
        problems.append("gpu-group: does not tolerate the GPU taint")
    return problems


def gcs_fault_tolerance(bundle: Bundle) -> list[str]:
    serve = bundle.one("RayService", "diabetes-serve")["spec"]["rayClusterConfig"]
    return [f"{name}: no gcsFaultToleranceOptions.redisAddress"
            for name, spec in ((MAIN, main_cluster(bundle)), ("diabetes-serve", serve))
            if not spec.get("gcsFaultToleranceOptions", {}).get("redisAddress")]


def dashboard_ingress(bundle: Bundle) -> list[str]:
    ingress = bundle.one("Ingress", f"{MAIN}-dashboard")
    annotations = ingress["metadata"]["annotations"]
    hosts = {h for tls in ingress["spec"].get("tls", []) for h in tls["hosts"]}
    problems = []
    if {r["host"] for r in ingress["spec"]["rules"]} != {"ray.test.example"} or hosts != {"ray.test.example"}:
        problems.append(f"host and TLS hosts are not the overlay's: {hosts}")
    if annotations.get("nginx.ingress.kubernetes.io/ssl-redirect") != "true":
        problems.append("no ssl-redirect")
    if not annotations.get("nginx.ingress.kubernetes.io/auth-url"):
        problems.append("no auth-url")
    return problems


def disruption_budgets(bundle: Bundle) -> list[str]:
    budgets = bundle.of_kind("PodDisruptionBudget")
    problems = []
    for group, labels in [(group, labels) for group, _, labels in main_pods(bundle)] + serve_pods(bundle):
        covering = [b for b in budgets if labels_match(b["spec"]["selector"]["matchLabels"], labels)]
        if len(covering) != 1:
            problems.append(f"{group}: covered by {len(covering)} PodDisruptionBudgets")
    return problems


def high_priority(bundle: Bundle) -> list[str]:
    return [f"{group}: priorityClassName {pod.get('priorityClassName')!r}"
            for group, pod, _ in main_pods(bundle) if pod.get("priorityClassName") != "ray-high-priority"]


def jobs_gpu(bundle: Bundle) -> list[str]:
    train = bundle.one("RayJob", "diabetes-train")["spec"]
    groups = train["rayClusterSpec"]["workerGroupSpecs"]
    problems = [] if "--use-gpu" in train["entrypoint"] else ["diabetes-train does not ask for GPUs"]
    return problems + [f"diabetes-train {g['groupName']}: no GPU" for g in groups if not gpu_limits(g["template"]["spec"]["containers"][0])[1]]


def pod_hardening(bundle: Bundle) -> list[str]:
    values = yaml.safe_load((REPO_ROOT / "components/pod-hardening/hardening.yaml").read_text())
    problems = []
    for template in bundle.pod_templates():
        if template.spec.get("securityContext") != values["pod"]:
            problems.append(f"{template.where}: pod securityContext {template.spec.get('securityContext')}")
        if template.spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{template.where}: automounts a ServiceAccount token")
        for container in containers(template.spec):
            if container.get("securityContext") != values["container"]:
                problems.append(f"{template.where} {container['name']}: securityContext {container.get('securityContext')}")
    for label, spec in bundle.ray_cluster_specs():
        if spec.get("enableInTreeAutoscaling") and spec["autoscalerOptions"].get("securityContext") != values["container"]:
            problems.append(f"{label}: autoscaler securityContext")
    return problems


def ray_version(bundle: Bundle) -> list[str]:
    problems = [f"{label}: rayVersion {spec.get('rayVersion')!r}" for label, spec in bundle.ray_cluster_specs()
                if spec.get("rayVersion") != RAY_VERSION]
    for template in bundle.pod_templates():
        for container in containers(template.spec):
            wants_gpu = gpu_limits(container)[1] is not None
            expected = f"rayproject/ray:{RAY_VERSION}-py311" + ("-gpu" if wants_gpu else "")
            if template.is_ray_node and template.where.startswith(("RayJob/", "RayService/")):
                # The jobs' image (jobs/image): Ray's CPU image plus torch's CUDA build, for CPU and GPU pods.
                if not re.fullmatch(rf"{JOBS_IMAGE}:{re.escape(RAY_VERSION)}-py311-[0-9a-f]{{12}}", container["image"]):
                    problems.append(f"{template.where} {container['name']}: image {container['image']}")
            elif container["image"] != expected:
                problems.append(f"{template.where} {container['name']}: image {container['image']}, expected {expected}")
    return problems


@dataclass(frozen=True)
class Promise:
    component: str
    check: Callable[[Bundle], list[str]]


PROMISES = (
    Promise("components/sizes", sizes),
    Promise("components/monitoring", monitoring),
    Promise("components/gpu-workers", gpu_workers),
    Promise("components/gcs-fault-tolerance", gcs_fault_tolerance),
    Promise("components/dashboard-ingress", dashboard_ingress),
    Promise("components/disruption-budgets", disruption_budgets),
    Promise("components/high-priority", high_priority),
    Promise("jobs/components/gpu", jobs_gpu),
    Promise("components/pod-hardening", pod_hardening),
    Promise("components/ray-version", ray_version),
)


def test_every_component_has_a_promise_and_a_place_in_the_order():
    on_disk = {str(p.parent.relative_to(REPO_ROOT)) for p in REPO_ROOT.glob("components/*/kustomization.yaml")}
    on_disk |= {str(p.parent.relative_to(REPO_ROOT)) for p in REPO_ROOT.glob("jobs/components/*/kustomization.yaml")}
    assert on_disk == {p.component for p in PROMISES} == set(OPTIONAL) | set(ALWAYS)


@pytest.mark.parametrize("overlay", sorted(p.name for p in (REPO_ROOT / "overlays").iterdir()))
def test_overlays_use_the_components_in_the_tested_order(overlay: str):
    kustomization = yaml.safe_load((REPO_ROOT / "overlays" / overlay / "kustomization.yaml").read_text())
    used = tuple(re.sub(r"^(\.\./)+", "", c) for c in kustomization.get("components", []))
    assert used[-len(ALWAYS):] == ALWAYS, f"overlays/{overlay}: {ALWAYS} must come last"
    optional = used[: -len(ALWAYS)]
    assert optional in combinations(), f"overlays/{overlay}: {optional} is not in the order {OPTIONAL}"


@pytest.mark.parametrize("components", combinations(), ids=lambda c: "+".join(p.rsplit("/", 1)[-1] for p in c) or "none")
def test_each_component_keeps_its_promise_in_every_combination(components: tuple[str, ...], tmp_path: Path):
    bundle = render_with(tmp_path / "overlay", components)
    problems = [f"{p.component}: {problem}" for p in PROMISES if p.component in (*components, *ALWAYS) for problem in p.check(bundle)]
    assert not problems, "\n".join(problems)
