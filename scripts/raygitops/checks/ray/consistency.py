"""Values that must agree with each other: image tags and rayVersion, GPU requests and
limits and tolerations, and what a RayJob's entrypoint asks of the cluster it gets.

None of these is rejected anywhere: the pods start, and then a version mismatch
breaks the cluster in odd ways, a GPU pod stays Pending, or Ray Train waits for
workers that can never be placed, with no message at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ...findings import Severity
from ...inputs.documents import Document
from ...schema.formats import parse_quantity
from ..subjects import PodTemplate
from . import CONSISTENCY, Bundle, Problem, Subject, rule
from ._access import containers, dig, integer, mapping, scalar_text, sequence, shell_words, text
from ._ray import (
    RAY_KINDS,
    WORKLOAD_KINDS,
    ClusterSpec,
    RayGroup,
    cluster_spec,
    document_view,
    format_version,
    job_cluster,
    job_spec,
    parse_image,
    parse_version,
)

GPU_RESOURCE = "nvidia.com/gpu"


def _ray_images(cluster: ClusterSpec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for group in cluster.groups:
        for index, container in containers(group.pod_spec):
            image = container.get("image")
            if isinstance(image, str) and parse_image(image).is_ray_image:
                yield (*group.pod_path, "containers", index, "image"), image
    image = cluster.autoscaler_options.get("image")
    if isinstance(image, str) and parse_image(image).is_ray_image:
        yield (*cluster.path, "autoscalerOptions", "image"), image


@rule(
    "image-ray-version",
    kinds=RAY_KINDS,
    category=CONSISTENCY,
    severity=Severity.WARNING,
    subject=Subject.RAY_CLUSTER,
)
def image_ray_version(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """The Ray version in every Ray image tag equals rayVersion (an error under --profile prod).

    Why: neither the API server nor KubeRay rejects a mismatch, but KubeRay gates features on
    rayVersion, so the cluster may be configured for a Ray it does not run.

    Fails:
        spec:
          rayVersion: '2.60.0'
          headGroupSpec: {template: {spec: {containers: [{name: ray-head, image: 'rayproject/ray:2.59.1'}]}}}

    Instead:
        spec:
          rayVersion: '2.60.0'
          headGroupSpec: {template: {spec: {containers: [{name: ray-head, image: 'rayproject/ray:2.60.0'}]}}}
    """
    declared = parse_version(cluster.ray_version)
    if declared is None:
        return
    for path, image in _ray_images(cluster):
        found = parse_image(image).ray_version
        if found is not None and found != declared:
            yield Problem(
                path,
                f"image {image} runs Ray {format_version(found)} but rayVersion is {cluster.ray_version}; "
                "use the same version in both",
            )


@rule(
    "image-ray-version-unknown",
    kinds=RAY_KINDS,
    category=CONSISTENCY,
    severity=Severity.WARNING,
    subject=Subject.RAY_CLUSTER,
)
def image_ray_version_unknown(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A Ray image tag names a release (2.60.0-py311), not nightly or another moving tag.

    Why: a tag such as nightly or latest-gpu names no Ray release, so nobody can tell whether it matches rayVersion,
    and the image behind it changes from one pull to the next: pods of one cluster can end up on different Ray
    versions, which cannot join one cluster.

    Fails:
        headGroupSpec:
          template:
            spec:
              containers:
                - name: ray-head
                  image: rayproject/ray:nightly-py311

    Instead:
        headGroupSpec:
          template:
            spec:
              containers:
                - name: ray-head
                  image: rayproject/ray:2.60.0-py311
    """
    for path, image in _ray_images(cluster):
        reference = parse_image(image)
        if not reference.tag or reference.tag == "latest":
            continue  # unpinned images are the image-unpinned rule's finding
        if reference.ray_version is None:
            yield Problem(
                path,
                f"image {image} does not name a Ray release, so it cannot match rayVersion; use a tag such as {cluster.ray_version or '2.60.0'}-py311",
            )


@rule("ray-version-missing", kinds=RAY_KINDS, category=CONSISTENCY, severity=Severity.WARNING)
def ray_version_missing(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """rayVersion is set to the release the images run: KubeRay gates features on it.

    Why: KubeRay reads rayVersion to decide which features and start flags the cluster's Ray supports (token
    authentication, autoscaler v2 and others); without it, or with something that is not a release, it assumes
    defaults that may not match the images.

    Fails:
        kind: RayCluster
        spec:
          headGroupSpec: {...}

    Instead:
        kind: RayCluster
        spec:
          rayVersion: '2.60.0'
          headGroupSpec: {...}
    """
    cluster = cluster_spec(document)
    if cluster is not None and parse_version(cluster.ray_version) is None:
        found = f"{cluster.ray_version!r} is not a release" if cluster.ray_version else "is not set"
        yield Problem(
            (*cluster.path, "rayVersion"), f"rayVersion {found}; set it to the Ray release of the images, e.g. '2.60.0'"
        )


def _extended_resources(container: dict[str, Any]) -> set[str]:
    resources = mapping(container.get("resources"))
    names = set(mapping(resources.get("requests"))) | set(mapping(resources.get("limits")))
    return {str(n) for n in names if "/" in str(n) and not str(n).split("/")[0].endswith("kubernetes.io")}


@rule("gpu-limits-equal-requests", kinds=RAY_KINDS, category=CONSISTENCY, subject=Subject.POD_TEMPLATE)
def gpu_limits_equal_requests(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """In Ray pod templates, nvidia.com/gpu and other extended resources have limits equal to requests.

    Why: Kubernetes does not overcommit extended resources such as nvidia.com/gpu: the API server rejects a pod whose
    request differs from its limit. For a Ray pod that happens only when the operator creates it, as a FailedCreate
    event, minutes after the apply succeeded.

    Fails:
        containers:
          - name: ray-worker
            resources:
              requests: {nvidia.com/gpu: 1}
              limits: {nvidia.com/gpu: 2}

    Instead:
        containers:
          - name: ray-worker
            resources:
              requests: {nvidia.com/gpu: 1}
              limits: {nvidia.com/gpu: 1}
    """
    for index, container in containers(template.spec):
        resources = mapping(container.get("resources"))
        requests, limits = mapping(resources.get("requests")), mapping(resources.get("limits"))
        for name in sorted(_extended_resources(container)):
            base = (*template.path, "containers", index, "resources")
            if name in requests and name not in limits:
                yield Problem(
                    (*base, "limits"),
                    f"{template.label} requests {name} without a limit; set limits.{name} equal to the request (the pod is rejected otherwise)",
                )
            elif name in requests and parse_quantity(requests[name]) != parse_quantity(limits[name]):
                yield Problem(
                    (*base, "limits", name),
                    f"{template.label} has {name} limit {scalar_text(limits[name])} but request {scalar_text(requests[name])}; make them equal",
                )


def _tolerates_gpu(pod_spec: dict[str, Any]) -> bool:
    for toleration in sequence(pod_spec.get("tolerations")):
        toleration = mapping(toleration)
        key = toleration.get("key")
        if key == GPU_RESOURCE or (not key and toleration.get("operator") == "Exists"):
            return True
    return False


# GKE taints its GPU nodes and runs the ExtendedResourceToleration admission plugin, which adds the toleration to
# each pod that requests the GPU; a pod placed on GKE's node labels relies on it.
GKE_NODE_LABEL_PREFIX = "cloud.google.com/gke-"


def _placed_on_gke(pod_spec: dict[str, Any]) -> bool:
    keys = [key for key in mapping(pod_spec.get("nodeSelector")) if isinstance(key, str)]
    required = dig(pod_spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
    for term in sequence(dig(required, "nodeSelectorTerms")):
        keys.extend(text(e.get("key")) for e in sequence(mapping(term).get("matchExpressions")) if isinstance(e, dict))
    return any(key.startswith(GKE_NODE_LABEL_PREFIX) for key in keys)


@rule(
    "gpu-toleration",
    kinds=(*RAY_KINDS, *WORKLOAD_KINDS),
    category=CONSISTENCY,
    severity=Severity.WARNING,
    subject=Subject.POD_TEMPLATE,
)
def gpu_toleration(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Pods that ask for nvidia.com/gpu tolerate the nvidia.com/gpu taint GPU nodes usually carry.

    Why: GPU node pools usually carry an nvidia.com/gpu taint so that other pods stay off them; a pod asking for a
    GPU without tolerating that taint stays Pending, and a Ray worker group never comes up. Not reported for a pod
    placed with GKE's node labels (cloud.google.com/gke-*): GKE's ExtendedResourceToleration admission plugin adds
    the toleration to every pod that requests the GPU.

    Fails:
        spec:
          containers:
            - name: ray-worker
              resources:
                limits: {nvidia.com/gpu: 1}

    Instead:
        spec:
          tolerations:
            - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
          containers:
            - name: ray-worker
              resources:
                limits: {nvidia.com/gpu: 1}
    """
    wants_gpu = any(
        GPU_RESOURCE in mapping(dig(c, "resources", "limits"))
        or GPU_RESOURCE in mapping(dig(c, "resources", "requests"))
        for _, c in containers(template.spec)
    )
    if wants_gpu and not _tolerates_gpu(template.spec) and not _placed_on_gke(template.spec):
        yield Problem(
            (*template.path, "tolerations"),
            f"{template.label} asks for {GPU_RESOURCE} but does not tolerate the {GPU_RESOURCE} taint; "
            f"add a toleration {{key: {GPU_RESOURCE}, operator: Exists, effect: NoSchedule}}, unless the cluster "
            "runs the ExtendedResourceToleration admission plugin",
        )


# --- what an entrypoint asks for ----------------------------------------------------------


@dataclass(frozen=True)
class NodeShape:
    """What Ray advertises on one pod of a group, and how many such pods there can be."""

    group: RayGroup
    cpus: float | None  # None: Ray detects it on the node
    gpus: float
    count: int

    def fits(self, cpus: float, gpus: float) -> int:
        """How many bundles of (cpus, gpus) one node of this shape holds."""
        per_node = math.inf
        if cpus > 0 and self.cpus is not None:
            per_node = min(per_node, math.floor(self.cpus / cpus + 1e-9))
        if gpus > 0:
            per_node = min(per_node, math.floor(self.gpus / gpus + 1e-9))
        return 0 if per_node == math.inf and not self.cpus else int(min(per_node, 2**31))


def _number(value: Any) -> float | None:
    quantity = parse_quantity(value)
    number = float(quantity) if quantity is not None else None
    return number if number is not None and math.isfinite(number) else None  # 1e999 is no node's size


def _advertised(group: RayGroup, param: str, ray_name: str, resource_names: tuple[str, ...]) -> float | None:
    """A Ray resource of one node: rayStartParams, else the group's resources, else the container's limits.

    None when nothing sets the CPU count: Ray then detects the node's CPUs, which we cannot know.
    """
    from_param = _number(group.start_param(param)) if group.start_param(param) else None
    if from_param is not None:
        return from_param
    from_group = _number(mapping(group.spec.get("resources")).get(ray_name))
    if from_group is not None:
        return from_group
    container = group.ray_container or {}
    for field in ("limits", "requests"):
        values = mapping(dig(container, "resources", field))
        for name in resource_names:
            if name in values:
                number = _number(values[name])
                if number is not None:
                    return float(math.ceil(number - 1e-9)) if ray_name == "CPU" else number
    return None if ray_name == "CPU" else 0.0


def node_shapes(cluster: ClusterSpec) -> list[NodeShape]:
    """The cluster's node shapes, worked out once per document (two rules read them)."""
    return document_view(cluster.document, "node_shapes", lambda _: _node_shapes(cluster))


def _node_shapes(cluster: ClusterSpec) -> list[NodeShape]:
    shapes = [
        NodeShape(
            cluster.head,
            _advertised(cluster.head, "num-cpus", "CPU", ("cpu",)),
            _advertised(cluster.head, "num-gpus", "GPU", (GPU_RESOURCE,)) or 0.0,
            1,
        )
    ]
    for group in cluster.workers:
        low = integer(group.spec.get("minReplicas")) or 0
        high = integer(group.spec.get("maxReplicas"))
        high = 2**31 - 1 if high is None else high
        if cluster.autoscaling:
            count = high
        else:  # without the autoscaler the group stays at replicas, clamped into [min, max]
            replicas = integer(group.spec.get("replicas")) or 0
            count = max(low, min(replicas, high))
        count *= integer(group.spec.get("numOfHosts")) or 1
        shapes.append(
            NodeShape(
                group,
                _advertised(group, "num-cpus", "CPU", ("cpu",)),
                _advertised(group, "num-gpus", "GPU", (GPU_RESOURCE,)) or 0.0,
                max(count, 0),
            )
        )
    return shapes


@dataclass(frozen=True)
class Demand:
    """Resources an entrypoint's Ray Train / Tune flags ask for."""

    workers: int
    cpus_per_worker: float
    gpus_per_worker: float
    flags: str  # the flags as written, for the message


def entrypoint_demand(entrypoint: str) -> Demand | None:
    tokens = shell_words(entrypoint)
    if tokens is None:
        return None
    values: dict[str, str] = {}
    switches: set[str] = set()
    for position, token in enumerate(tokens):
        if not token.startswith("--"):
            continue
        name, equals, value = token[2:].partition("=")
        name = name.replace("_", "-")
        if equals:
            values[name] = value
        elif position + 1 < len(tokens) and not tokens[position + 1].startswith("--"):
            values[name] = tokens[position + 1]
            switches.add(name)
        else:
            switches.add(name)

    def number(*names: str) -> float | None:
        for name in names:
            if name in values:
                try:
                    value = float(values[name])
                except ValueError:
                    return None
                return value if math.isfinite(value) and value >= 0 else None
        return None

    use_gpu = ("use-gpu" in switches and "use-gpu" not in values) or values.get("use-gpu", "").lower() == "true"
    workers = number("num-workers")
    if workers is not None:
        cpus = number("cpus-per-worker")
        gpus = number("gpus-per-worker") if use_gpu else None
        shown = " ".join(
            f"--{n} {values[n]}" for n in ("num-workers", "cpus-per-worker", "gpus-per-worker") if n in values
        )
        shown += " --use-gpu" if use_gpu else ""
        return Demand(
            int(workers),
            1.0 if cpus is None else cpus,
            (gpus if gpus is not None else 1.0) if use_gpu else 0.0,
            shown.strip(),
        )
    trial_cpus = number("cpus-per-trial")
    if trial_cpus is not None:
        trial_gpus = number("gpus-per-trial") or 0.0
        return Demand(1, trial_cpus, trial_gpus, f"--cpus-per-trial {values['cpus-per-trial']}")
    return None


def _driver_fits(job: dict[str, Any], path: tuple[str | int, ...], shapes: list[NodeShape]) -> Iterator[Problem]:
    """entrypointNumCpus/Gpus reserve resources for the driver on one node; some node must have them."""
    for field, cpus, gpus in (
        ("entrypointNumCpus", job.get("entrypointNumCpus"), 0),
        ("entrypointNumGpus", 0, job.get("entrypointNumGpus")),
    ):
        cpus, gpus = _number(cpus) or 0.0, _number(gpus) or 0.0
        if (cpus <= 0 and gpus <= 0) or (cpus > 0 and any(s.cpus is None and s.count for s in shapes)):
            continue
        if not any(s.count and s.fits(cpus, gpus) for s in shapes):
            largest = (
                max((s.cpus or 0) if cpus else s.gpus for s in shapes if s.count) if any(s.count for s in shapes) else 0
            )
            yield Problem(
                (*path, field),
                f"{field} {cpus or gpus:g} is more than any node of the cluster offers (at most {largest:g}); lower it or give a group more resources",
            )


@rule("rayjob-resources-exceed-cluster", kinds=("RayJob", "RayCronJob"), category=CONSISTENCY)
def resources_exceed_cluster(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A RayJob's entrypoint flags (--num-workers, --cpus-per-worker, --use-gpu) and entrypointNumCpus/Gpus fit its cluster.

    Why: Ray places each Train/Tune worker (and the driver's entrypointNumCpus/Gpus) on one node; when no group of the
    cluster can ever offer that many bundles, even at maxReplicas, the job does not fail, it waits forever for
    resources and the RayJob stays Running.

    Fails:
        spec:
          entrypoint: python train.py --num-workers 4 --cpus-per-worker 2
          rayClusterSpec:
            enableInTreeAutoscaling: true
            headGroupSpec:
              rayStartParams: {num-cpus: '0'}
            workerGroupSpecs:
              - groupName: cpu
                maxReplicas: 2
                template: {spec: {containers: [{name: ray-worker, resources: {limits: {cpu: 2}}}]}}

    Instead:
        spec:
          entrypoint: python train.py --num-workers 4 --cpus-per-worker 2
          rayClusterSpec:
            enableInTreeAutoscaling: true
            headGroupSpec:
              rayStartParams: {num-cpus: '0'}
            workerGroupSpecs:
              - groupName: cpu
                maxReplicas: 2
                template: {spec: {containers: [{name: ray-worker, resources: {limits: {cpu: 4}}}]}}
    """
    found = job_spec(document)
    if found is None:
        return
    job, path = found
    demand = entrypoint_demand(text(job.get("entrypoint")))
    cluster = job_cluster(document, job, bundle)
    if cluster is None:
        return
    shapes = node_shapes(cluster)
    yield from _driver_fits(job, path, shapes)
    if demand is None or demand.workers <= 0:
        return
    if demand.cpus_per_worker > 0 and any(s.cpus is None and s.count for s in shapes):
        return  # some node's CPU count is only known at run time
    placeable = sum(shape.count * shape.fits(demand.cpus_per_worker, demand.gpus_per_worker) for shape in shapes)
    if placeable >= demand.workers:
        return
    wanted = f"{demand.cpus_per_worker:g} CPU" + (
        f" + {demand.gpus_per_worker:g} GPU" if demand.gpus_per_worker else ""
    )
    offered = (
        "; ".join(
            f"{s.group.label}: up to {s.count} × ({s.cpus or 0:g} CPU, {s.gpus:g} GPU)" for s in shapes if s.count
        )
        or "no nodes"
    )
    yield Problem(
        (*path, "entrypoint"),
        f"entrypoint ({demand.flags}) needs {demand.workers} × ({wanted}) but the cluster can place at most {placeable} "
        f"[{offered}]; raise maxReplicas or the group's resources, or ask for less — Ray would wait forever",
    )


@rule(
    "ray-start-params-exceed-container",
    kinds=RAY_KINDS,
    category=CONSISTENCY,
    severity=Severity.WARNING,
    subject=Subject.RAY_CLUSTER,
)
def start_params_exceed_container(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """rayStartParams num-cpus and num-gpus do not advertise more than the Ray container's limits.

    Why: num-cpus and num-gpus in rayStartParams tell Ray what the node has; advertising more than the container's
    limits makes Ray schedule more tasks than the pod can run, so they are throttled or fail to find a GPU.

    Fails:
        workerGroupSpecs:
          - groupName: gpu
            rayStartParams: {num-gpus: '2'}
            template: {spec: {containers: [{name: ray-worker, resources: {limits: {nvidia.com/gpu: 1}}}]}}

    Instead:
        workerGroupSpecs:
          - groupName: gpu
            rayStartParams: {num-gpus: '1'}
            template: {spec: {containers: [{name: ray-worker, resources: {limits: {nvidia.com/gpu: 1}}}]}}
    """
    for group in cluster.groups:
        limits = mapping(dig(group.ray_container, "resources", "limits"))
        for param, resource in (("num-cpus", "cpu"), ("num-gpus", GPU_RESOURCE)):
            advertised = _number(group.start_param(param)) if group.start_param(param) else None
            limit = _number(limits.get(resource)) if resource in limits else None
            if advertised is not None and limit is not None and advertised > limit + 1e-9:
                yield Problem(
                    (*group.path, "rayStartParams", param),
                    f"{group.label} advertises {param} {advertised:g} but its container is limited to {limit:g} {resource}; "
                    f"lower {param} or raise the limit (Ray would schedule more work than the pod can run)",
                )


@rule(
    "cluster-without-task-capacity",
    kinds=RAY_KINDS,
    category=CONSISTENCY,
    severity=Severity.WARNING,
    subject=Subject.RAY_CLUSTER,
)
def cluster_without_task_capacity(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A cluster whose head takes no tasks (num-cpus 0) has a worker group that can start pods.

    Why: with num-cpus '0' the head takes no tasks; if no worker group can start a pod with CPUs or GPUs (maxReplicas
    0 with the autoscaler, replicas 0 without it, or no groups at all), every task and job waits forever for
    resources.

    Fails:
        enableInTreeAutoscaling: true
        headGroupSpec:
          rayStartParams: {num-cpus: '0'}
        workerGroupSpecs:
          - groupName: cpu
            maxReplicas: 0

    Instead:
        enableInTreeAutoscaling: true
        headGroupSpec:
          rayStartParams: {num-cpus: '0'}
        workerGroupSpecs:
          - groupName: cpu
            maxReplicas: 2
    """
    shapes = node_shapes(cluster)
    head, workers = shapes[0], shapes[1:]
    if head.cpus != 0 or head.gpus:
        return
    if not any(shape.count and (shape.cpus is None or shape.cpus > 0 or shape.gpus > 0) for shape in workers):
        yield Problem(
            (*cluster.path, "workerGroupSpecs"),
            "the head runs no tasks (num-cpus: '0') and no worker group can start a pod with CPUs, so every task waits forever; "
            "add a worker group with maxReplicas above 0",
        )
