"""Capacity: the CPUs, GPUs and memory a Ray cluster asks of the nodes at full scale.

Full scale, as KubeRay v1.7.0 counts pods (utils.CalculateMaxReplicas and
GetWorkerGroupDesiredReplicas): the head pod, the autoscaler sidecar when in-tree
autoscaling is on (KubeRay's default 500m/512Mi unless autoscalerOptions.resources
is set), and every worker group at maxReplicas x numOfHosts when autoscaling,
else at replicas clamped to min/max. A suspended group counts zero. A pod asks
for the larger of its containers' sum and its largest init container (the
scheduler's rule); a container without requests asks for its limits (the API
server's defaulting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..schema import formats

# What a worker group without maxReplicas gets from the CRD default: unbounded in practice.
MAX_INT32 = 2**31 - 1
AUTOSCALER_DEFAULT = {"cpu": "500m", "memory": "512Mi"}  # common/pod.go, BuildAutoscalerContainer
SUBMITTER_DEFAULT = {"cpu": "500m", "memory": "200Mi"}  # common/job.go, GetDefaultSubmitterContainer
GIB = Fraction(2**30)


def parse_quantity(value: Any) -> Fraction | None:
    """A Kubernetes quantity ("500m", "4Gi", 2) as an exact number; None when it is not one.

    What a quantity is, is decided once, by the schema layer's parser; capacity sums want exact fractions.
    """
    number = formats.parse_quantity(value.strip() if isinstance(value, str) else value)
    return None if number is None else Fraction(number)


def is_gpu(resource_name: str) -> bool:
    """nvidia.com/gpu, amd.com/gpu, gpu.intel.com/i915: every vendor's device plugin names it so."""
    return "gpu" in resource_name


@dataclass(frozen=True)
class Resources:
    cpu: Fraction = Fraction(0)
    gpu: Fraction = Fraction(0)
    memory: Fraction = Fraction(0)  # bytes

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.gpu + other.gpu, self.memory + other.memory)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.gpu - other.gpu, self.memory - other.memory)

    def times(self, count: int) -> Resources:
        return Resources(self.cpu * count, self.gpu * count, self.memory * count)

    def max(self, other: Resources) -> Resources:
        return Resources(max(self.cpu, other.cpu), max(self.gpu, other.gpu), max(self.memory, other.memory))

    def to_dict(self) -> dict[str, float]:
        return {"cpu": _number(self.cpu), "gpu": _number(self.gpu), "memory_gib": _number(self.memory / GIB)}

    def describe(self) -> str:
        """`9 CPUs, 1 GPU, 36 GiB`."""
        gpus = _number(self.gpu)
        return (
            f"{_show(self.cpu)} CPU{'s' if self.cpu != 1 else ''}, "
            f"{_show(self.gpu)} GPU{'s' if gpus != 1 else ''}, {_show(self.memory / GIB)} GiB"
        )


def _number(value: Fraction) -> float | int:
    rounded = round(float(value), 3)
    return int(rounded) if rounded == int(rounded) else rounded


def _show(value: Fraction) -> str:
    return str(_number(value))


@dataclass(frozen=True)
class Workload:
    """One Ray cluster a target runs, with what it needs at full scale."""

    kind: str  # RayCluster, RayService or RayJob
    namespace: str
    name: str
    resources: Resources
    unbounded: tuple[str, ...] = ()  # autoscaling groups without maxReplicas: no upper bound

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        data.update(self.resources.to_dict())
        if self.unbounded:
            data["unbounded_groups"] = list(self.unbounded)
        return data


@dataclass(frozen=True)
class Capacity:
    workloads: tuple[Workload, ...] = field(default_factory=tuple)

    @property
    def total(self) -> Resources:
        total = Resources()
        for workload in self.workloads:
            total += workload.resources
        return total

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = self.total.to_dict()
        data["workloads"] = [w.to_dict() for w in self.workloads]
        return data


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def container_requests(container: dict[str, Any]) -> Resources:
    resources = _mapping(container.get("resources"))
    requests = _mapping(resources.get("requests"))
    limits = _mapping(resources.get("limits"))
    cpu = gpu = memory = Fraction(0)
    for name in set(requests) | set(limits):
        amount = parse_quantity(requests.get(name, limits.get(name)))
        if amount is None:
            continue
        if name == "cpu":
            cpu += amount
        elif name == "memory":
            memory += amount
        elif is_gpu(str(name)):
            gpu += amount
    return Resources(cpu, gpu, memory)


def _containers(pod_spec: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = pod_spec.get(key)
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []


def pod_requests(pod_spec: dict[str, Any], extra: Resources = Resources()) -> Resources:
    """What the scheduler reserves for one pod; `extra` is a container KubeRay injects."""
    running = extra
    for container in _containers(pod_spec, "containers"):
        running += container_requests(container)
    largest_init = Resources()
    for container in _containers(pod_spec, "initContainers"):
        largest_init = largest_init.max(container_requests(container))
    return running.max(largest_init)


def _pod_spec(group: dict[str, Any]) -> dict[str, Any]:
    template = _mapping(group.get("template"))
    return _mapping(template.get("spec"))


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def full_scale_replicas(group: dict[str, Any], autoscaling: bool) -> int:
    """Pods of one worker group at full scale (replicas x hosts)."""
    if group.get("suspend") is True:
        return 0
    hosts = _int(group.get("numOfHosts"), 1)
    minimum = _int(group.get("minReplicas"), 0)
    maximum = _int(group.get("maxReplicas"), MAX_INT32)
    if autoscaling:
        return maximum * hosts
    replicas = _int(group.get("replicas"), minimum)
    return min(max(replicas, minimum), maximum) * hosts


def cluster_resources(cluster_spec: dict[str, Any]) -> tuple[Resources, tuple[str, ...]]:
    """A RayClusterSpec at full scale, and the autoscaling groups that have no upper bound."""
    autoscaling = cluster_spec.get("enableInTreeAutoscaling") is True
    head = _mapping(cluster_spec.get("headGroupSpec"))
    sidecar = Resources()
    if autoscaling:
        options = _mapping(cluster_spec.get("autoscalerOptions"))
        if isinstance(options.get("resources"), dict):
            sidecar = container_requests({"resources": options["resources"]})
        else:
            sidecar = container_requests({"resources": {"requests": AUTOSCALER_DEFAULT}})
    total = pod_requests(_pod_spec(head), sidecar)
    unbounded: list[str] = []
    groups = cluster_spec.get("workerGroupSpecs")
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict):
            continue
        count = full_scale_replicas(group, autoscaling)
        if autoscaling and count >= MAX_INT32:
            unbounded.append(str(group.get("groupName", "?")))
            continue
        total += pod_requests(_pod_spec(group)).times(count)
    return total, tuple(unbounded)


def workload_of(body: dict[str, Any]) -> Workload | None:
    """The Ray cluster a RayCluster, RayService or RayJob runs; None for other kinds or a RayJob on an existing cluster."""
    kind = body.get("kind")
    spec = _mapping(body.get("spec"))
    metadata = _mapping(body.get("metadata"))
    namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
    where = {"RayCluster": None, "RayService": "rayClusterConfig", "RayJob": "rayClusterSpec"}
    if kind not in where:
        return None
    field_name = where[kind]
    cluster: Any = spec if field_name is None else spec.get(field_name)
    if not isinstance(cluster, dict):
        return None
    resources, unbounded = cluster_resources(cluster)
    if kind == "RayJob" and spec.get("submissionMode", "K8sJobMode") == "K8sJobMode":
        template = spec.get("submitterPodTemplate") if isinstance(spec.get("submitterPodTemplate"), dict) else None
        if template is not None:
            resources += pod_requests(_pod_spec({"template": template}))
        else:
            resources += container_requests({"resources": {"requests": SUBMITTER_DEFAULT}})
    return Workload(str(kind), namespace, name, resources, unbounded)


def capacity_of(bodies: list[dict[str, Any]]) -> Capacity:
    workloads = [w for body in bodies if (w := workload_of(body)) is not None]
    return Capacity(tuple(workloads))
