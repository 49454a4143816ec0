"""Reading Ray resources without trusting their types.

Rules run on documents that may still carry type errors (the schema stage has
already reported those), so every accessor here returns an empty value of the
expected type instead of raising. The second half knows where KubeRay keeps a
RayClusterSpec in each kind, how it names and labels the pods and Services it
creates, and how to compare Ray versions and image tags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..documents import Document

if TYPE_CHECKING:
    from . import Bundle

Path = tuple[str | int, ...]

RAY_KINDS = ("RayCluster", "RayJob", "RayService", "RayCronJob")

# Where each kind keeps its RayClusterSpec.
CLUSTER_SPEC_PATHS: dict[str, Path] = {
    "RayCluster": ("spec",),
    "RayJob": ("spec", "rayClusterSpec"),
    "RayService": ("spec", "rayClusterConfig"),
    "RayCronJob": ("spec", "jobTemplate", "rayClusterSpec"),
}

# Where each kind keeps a RayJobSpec (a RayCronJob embeds one as its template).
JOB_SPEC_PATHS: dict[str, Path] = {"RayJob": ("spec",), "RayCronJob": ("spec", "jobTemplate")}

# Pod templates of built-in workload kinds, for the checks that apply to every pod.
WORKLOAD_POD_SPEC_PATHS: dict[str, Path] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_KINDS = tuple(WORKLOAD_POD_SPEC_PATHS)

# Ports the Ray head always listens on, whether or not the template declares them.
GCS_PORT, DASHBOARD_PORT, CLIENT_PORT, METRICS_PORT, SERVE_PORT = 6379, 8265, 10001, 8080, 8000
HEAD_DEFAULT_PORTS = {"gcs-server": GCS_PORT, "dashboard": DASHBOARD_PORT, "client": CLIENT_PORT, "metrics": METRICS_PORT}
# The three ports that give control of the cluster (the Jobs API runs arbitrary code).
CONTROL_PORTS = {GCS_PORT: "GCS", DASHBOARD_PORT: "dashboard", CLIENT_PORT: "Ray client"}

EXTERNAL_ANNOTATION = "raygitops.io/external"


# --- defensive accessors ---------------------------------------------------------------


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def flag(value: Any) -> bool:
    return value is True


def dig(value: Any, *keys: str | int) -> Any:
    """Follow keys and indices through nested mappings and lists; None where the path breaks."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
            value = value[key]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
    return value


def scalar_text(value: Any) -> str:
    """A map[string]string value as KubeRay reads it; numbers and booleans as YAML would print them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return ""


# --- containers and env ----------------------------------------------------------------


def containers(pod_spec: dict[str, Any], field: str = "containers") -> list[tuple[int, dict[str, Any]]]:
    return [(i, c) for i, c in enumerate(sequence(pod_spec.get(field))) if isinstance(c, dict)]


def env_entries(container: dict[str, Any], field: str = "env") -> list[tuple[int, dict[str, Any]]]:
    return [(i, e) for i, e in enumerate(sequence(container.get(field))) if isinstance(e, dict)]


def env_var(container: dict[str, Any], name: str) -> tuple[int, dict[str, Any]] | None:
    """The first env entry called `name` (KubeRay's EnvVarExists looks at the name only)."""
    for index, entry in env_entries(container):
        if entry.get("name") == name:
            return index, entry
    return None


def env_is_true(container: dict[str, Any], name: str) -> bool:
    found = env_var(container, name)
    return found is not None and text(found[1].get("value")) in ("1", "true")


def container_port_names(container: dict[str, Any]) -> dict[str, int | None]:
    ports: dict[str, int | None] = {}
    for port in sequence(container.get("ports")):
        name = text(mapping(port).get("name"))
        if name:
            ports[name] = integer(mapping(port).get("containerPort"))
    return ports


def container_port_numbers(container: dict[str, Any]) -> set[int]:
    numbers = {integer(mapping(p).get("containerPort")) for p in sequence(container.get("ports"))}
    return {n for n in numbers if n is not None}


# --- Ray cluster specs and groups ------------------------------------------------------


@dataclass(frozen=True)
class RayGroup:
    """The head group or one worker group of a RayClusterSpec."""

    name: str  # "head" for the head group, else its groupName
    is_head: bool
    spec: dict[str, Any]
    path: Path  # to the group spec

    @property
    def label(self) -> str:
        return "the head group" if self.is_head else f"worker group {self.name!r}"

    @property
    def pod_spec(self) -> dict[str, Any]:
        return mapping(dig(self.spec, "template", "spec"))

    @property
    def pod_path(self) -> Path:
        return (*self.path, "template", "spec")

    @property
    def pod_labels(self) -> dict[str, Any]:
        return mapping(dig(self.spec, "template", "metadata", "labels"))

    @property
    def ray_container(self) -> dict[str, Any] | None:
        """The Ray container: KubeRay always takes the first one."""
        first = dig(self.spec, "template", "spec", "containers", 0)
        return first if isinstance(first, dict) else None

    @property
    def ray_container_path(self) -> Path:
        return (*self.pod_path, "containers", 0)

    @property
    def ray_start_params(self) -> dict[str, Any]:
        return mapping(self.spec.get("rayStartParams"))

    def start_param(self, name: str) -> str:
        return scalar_text(self.ray_start_params.get(name))


@dataclass(frozen=True)
class ClusterSpec:
    """A RayClusterSpec, wherever a kind keeps it, with the document that owns it."""

    document: Document
    spec: dict[str, Any]
    path: Path

    @property
    def owner_kind(self) -> str:
        return self.document.kind

    @property
    def head(self) -> RayGroup:
        return RayGroup("head", True, mapping(self.spec.get("headGroupSpec")), (*self.path, "headGroupSpec"))

    @property
    def workers(self) -> list[RayGroup]:
        groups = []
        for index, group in enumerate(sequence(self.spec.get("workerGroupSpecs"))):
            if isinstance(group, dict):
                name = text(group.get("groupName")) or f"#{index}"
                groups.append(RayGroup(name, False, group, (*self.path, "workerGroupSpecs", index)))
        return groups

    @property
    def groups(self) -> list[RayGroup]:
        return [self.head, *self.workers]

    @property
    def ray_version(self) -> str:
        return text(self.spec.get("rayVersion"))

    @property
    def autoscaling(self) -> bool:
        return flag(self.spec.get("enableInTreeAutoscaling"))

    @property
    def autoscaler_options(self) -> dict[str, Any]:
        return mapping(self.spec.get("autoscalerOptions"))

    @property
    def autoscaler_v2(self) -> bool:
        """v2 chosen the current way (autoscalerOptions.version) or the pre-1.4 way (head env)."""
        if self.autoscaler_options.get("version") == "v2":
            return True
        head = self.head.ray_container
        return head is not None and env_is_true(head, "RAY_enable_autoscaler_v2")

    @property
    def ft_options(self) -> dict[str, Any] | None:
        value = self.spec.get("gcsFaultToleranceOptions")
        return value if isinstance(value, dict) else None

    @property
    def ft_enabled(self) -> bool:
        return self.ft_options is not None or self.document.annotations.get("ray.io/ft-enabled") == "true"

    @property
    def auth_mode(self) -> str:
        return text(dig(self.spec, "authOptions", "mode"))

    @property
    def token_auth(self) -> bool:
        return self.auth_mode == "token"


def cluster_spec(document: Document) -> ClusterSpec | None:
    path = CLUSTER_SPEC_PATHS.get(document.kind)
    if path is None:
        return None
    spec = dig(document.body, *path)
    return ClusterSpec(document, spec, path) if isinstance(spec, dict) else None


def job_spec(document: Document) -> tuple[dict[str, Any], Path] | None:
    path = JOB_SPEC_PATHS.get(document.kind)
    if path is None:
        return None
    spec = dig(document.body, *path)
    return (spec, path) if isinstance(spec, dict) else None


def job_cluster(document: Document, job: dict[str, Any], bundle: Bundle) -> ClusterSpec | None:
    """The cluster a RayJob runs on: its own rayClusterSpec, or the RayCluster its clusterSelector names."""
    selector = mapping(job.get("clusterSelector"))
    if not selector:
        return cluster_spec(document)
    name = text(selector.get("ray.io/cluster"))
    target = bundle.find("RayCluster", name, document.namespace) if name else None
    return cluster_spec(target) if target is not None else None


# --- pods, as the checks that look at every pod see them --------------------------------


@dataclass(frozen=True)
class PodTemplate:
    """A pod spec somewhere in a document, with a phrase that names it for messages."""

    spec: dict[str, Any]
    path: Path
    label: str


def pod_templates(document: Document) -> Iterator[PodTemplate]:
    """Every pod spec a document will create: Ray groups, the RayJob submitter, workload templates."""
    cluster = cluster_spec(document)
    if cluster is not None:
        for group in cluster.groups:
            if isinstance(dig(group.spec, "template", "spec"), dict):
                yield PodTemplate(group.pod_spec, group.pod_path, group.label)
    job = job_spec(document)
    if job is not None:
        submitter = dig(job[0], "submitterPodTemplate", "spec")
        if isinstance(submitter, dict):
            yield PodTemplate(submitter, (*job[1], "submitterPodTemplate", "spec"), "the submitter pod")
    workload_path = WORKLOAD_POD_SPEC_PATHS.get(document.kind)
    if workload_path is not None:
        spec = dig(document.body, *workload_path)
        if isinstance(spec, dict):
            yield PodTemplate(spec, workload_path, "the pod template")


@dataclass(frozen=True)
class PodModel:
    """The labels and ports of the pods a document creates, as selectors see them.

    A label value of None matches any selector value: KubeRay names the
    RayCluster of a RayJob or RayService at run time, so `ray.io/cluster` is unknown.
    """

    document: Document
    labels: dict[str, str | None]
    port_names: dict[str, int | None]
    port_numbers: frozenset[int]
    is_ray_head: bool
    token_auth: bool


def ray_cluster_name(document: Document) -> str | None:
    return document.name if document.kind == "RayCluster" else None


def pod_models(document: Document) -> list[PodModel]:
    cluster = cluster_spec(document)
    models: list[PodModel] = []
    if cluster is not None:
        name = ray_cluster_name(document)
        for group in cluster.groups:
            labels: dict[str, str | None] = {str(k): scalar_text(v) for k, v in group.pod_labels.items()}
            labels.update({
                "ray.io/cluster": name,
                "ray.io/node-type": "head" if group.is_head else "worker",
                "ray.io/group": "headgroup" if group.is_head else group.name,
                "ray.io/is-ray-node": "yes",
                "app.kubernetes.io/name": "kuberay",
                "app.kubernetes.io/created-by": "kuberay-operator",
            })
            if document.kind == "RayService":
                labels["ray.io/serve"] = None
            names: dict[str, int | None] = {"metrics": METRICS_PORT}
            numbers = {METRICS_PORT}
            if group.is_head:
                names.update(HEAD_DEFAULT_PORTS)
                numbers.update(HEAD_DEFAULT_PORTS.values())
                if document.kind == "RayService":
                    names["serve"] = SERVE_PORT
                    numbers.add(SERVE_PORT)
            for _, container in containers(group.pod_spec):
                names.update(container_port_names(container))
                numbers.update(container_port_numbers(container))
            models.append(PodModel(document, labels, names, frozenset(numbers), group.is_head, cluster.token_auth))
    workload_path = WORKLOAD_POD_SPEC_PATHS.get(document.kind)
    if workload_path is not None:
        spec = mapping(dig(document.body, *workload_path))
        labels_at = ("metadata", "labels") if document.kind == "Pod" else (*workload_path[:-1], "metadata", "labels")
        labels = {str(k): scalar_text(v) for k, v in mapping(dig(document.body, *labels_at)).items()}
        names = {}
        numbers = set()
        for _, container in containers(spec):
            names.update(container_port_names(container))
            numbers.update(container_port_numbers(container))
        models.append(PodModel(document, labels, names, frozenset(numbers), False, False))
    return models


def selector_matches(selector: dict[str, Any], labels: dict[str, str | None]) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) or a plain map, against pod labels.

    An empty selector matches nothing here: for a Service that means "no endpoints managed",
    and for monitors we require the user to say what they select.
    """
    match_labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    if match_labels is None and expressions is None:
        match_labels, expressions = selector, None
    match_labels = mapping(match_labels)
    expressions = sequence(expressions)
    if not match_labels and not expressions:
        return False
    for key, value in match_labels.items():
        if key not in labels:
            return False
        actual = labels[key]
        if actual is not None and actual != scalar_text(value):
            return False
    for expression in expressions:
        expression = mapping(expression)
        key = text(expression.get("key"))
        operator = text(expression.get("operator"))
        values = {scalar_text(v) for v in sequence(expression.get("values"))}
        present = key in labels
        actual = labels.get(key)
        if operator == "In" and not (present and (actual is None or actual in values)):
            return False
        if operator == "NotIn" and present and actual is not None and actual in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def same_namespace(a: Document, b: Document) -> bool:
    """Documents without a namespace take the one they are applied to, so they match any."""
    first, second = a.namespace, b.namespace
    return not first or not second or first == second


def services_by_name(bundle: Bundle) -> dict[str, list[ServiceModel]]:
    def compute() -> dict[str, list[ServiceModel]]:
        index: dict[str, list[ServiceModel]] = {}
        for model in bundle_services(bundle):
            index.setdefault(model.name, []).append(model)
        return index

    return bundle.memo("services-by-name", compute)


# --- Services KubeRay creates ----------------------------------------------------------


@dataclass(frozen=True)
class ServiceModel:
    """A Service in the bundle, or one KubeRay will create for a Ray resource."""

    document: Document
    name: str
    labels: dict[str, str | None]
    selector: dict[str, Any]
    ports: list[dict[str, Any]]  # Service ports: name, port, targetPort
    created_by_kuberay: bool


def kuberay_services(document: Document) -> list[ServiceModel]:
    """The head Service (and serve Service) KubeRay creates, with the names it gives them."""
    cluster = cluster_spec(document)
    if cluster is None or document.kind not in ("RayCluster", "RayService"):
        return []
    head_container = cluster.head.ray_container or {}
    head_ports: dict[str, int | None] = dict(HEAD_DEFAULT_PORTS)
    head_ports.update(container_port_names(head_container))
    head_name = text(dig(cluster.head.spec, "headService", "metadata", "name")) or f"{document.name}-head-svc"
    cluster_label = ray_cluster_name(document)
    labels = {
        "ray.io/cluster": cluster_label,
        "ray.io/node-type": "head",
        "app.kubernetes.io/name": "kuberay",
        "app.kubernetes.io/created-by": "kuberay-operator",
    }
    services = [
        ServiceModel(
            document, head_name, labels, {"ray.io/cluster": cluster_label, "ray.io/node-type": "head"},
            [{"name": n, "port": p, "targetPort": p} for n, p in head_ports.items() if p is not None], True,
        )
    ]
    wants_serve = document.kind == "RayService" or document.annotations.get("ray.io/enable-serve-service") == "true"
    if wants_serve:
        serve_name = text(dig(document.spec, "serveService", "metadata", "name")) or f"{document.name}-serve-svc"
        serve_port = head_ports.get("serve") or SERVE_PORT
        services.append(
            ServiceModel(
                document, serve_name, {**labels, "ray.io/serve": None}, {"ray.io/serve": "true"},
                [{"name": "serve", "port": serve_port, "targetPort": serve_port}], True,
            )
        )
    return services


def ingress_backends(document: Document) -> list[tuple[Path, dict[str, Any]]]:
    """Every `backend.service` of an Ingress (default backend and rule paths), with its path."""
    backends: list[tuple[Path, dict[str, Any]]] = []
    default = dig(document.spec, "defaultBackend", "service")
    if isinstance(default, dict):
        backends.append((("spec", "defaultBackend", "service"), default))
    for r, entry in enumerate(sequence(document.spec.get("rules"))):
        for p, path in enumerate(sequence(dig(entry, "http", "paths"))):
            backend = dig(path, "backend", "service")
            if isinstance(backend, dict):
                backends.append((("spec", "rules", r, "http", "paths", p, "backend", "service"), backend))
    return backends


def bundle_service(document: Document) -> ServiceModel | None:
    if document.kind != "Service":
        return None
    ports = [p for p in sequence(document.spec.get("ports")) if isinstance(p, dict)]
    labels: dict[str, str | None] = {str(k): scalar_text(v) for k, v in document.labels.items()}
    return ServiceModel(document, document.name, labels, mapping(document.spec.get("selector")), ports, False)


def bundle_pods(bundle: Bundle) -> list[PodModel]:
    """Every pod model of the bundle, computed once per bundle."""
    kinds = (*RAY_KINDS, *WORKLOAD_KINDS)
    return bundle.memo("pods", lambda: [p for d in bundle.of_kind(*kinds) for p in pod_models(d)])


def bundle_services(bundle: Bundle) -> list[ServiceModel]:
    """Every Service of the bundle and every Service KubeRay will create for it, computed once."""

    def compute() -> list[ServiceModel]:
        found: list[ServiceModel] = []
        for document in bundle.of_kind("Service", *RAY_KINDS):
            models = [bundle_service(document)] if document.kind == "Service" else kuberay_services(document)
            found.extend(m for m in models if m is not None)
        return found

    return bundle.memo("services", compute)


def _label_index(models: list[Any]) -> tuple[dict[tuple[str, str], list[Any]], dict[str, list[Any]]]:
    exact: dict[tuple[str, str], list[Any]] = {}
    wildcard: dict[str, list[Any]] = {}
    for model in models:
        for key, value in model.labels.items():
            if value is None:
                wildcard.setdefault(key, []).append(model)
            else:
                exact.setdefault((key, value), []).append(model)
    return exact, wildcard


def select(bundle: Bundle, what: str, selector: dict[str, Any]) -> list[Any]:
    """The pods (what="pods") or Services (what="services") of the bundle a selector matches.

    Uses a per-bundle index on one matchLabels pair, so a bundle of thousands of
    resources does not compare every selector with every pod.
    """
    try:
        key = ("selected", what, json.dumps(selector, sort_keys=True, default=str))
    except (TypeError, ValueError):  # keys of mixed types cannot be sorted: no sharing
        return _select(bundle, what, selector)
    return bundle.memo(key, lambda: _select(bundle, what, selector))


def _select(bundle: Bundle, what: str, selector: dict[str, Any]) -> list[Any]:
    models = bundle_pods(bundle) if what == "pods" else bundle_services(bundle)
    match_labels = selector.get("matchLabels") if ("matchLabels" in selector or "matchExpressions" in selector) else selector
    candidates = models
    if isinstance(match_labels, dict) and match_labels:
        exact, wildcard = bundle.memo(("index", what), lambda: _label_index(models))
        label, value = next(iter(match_labels.items()))
        candidates = exact.get((str(label), scalar_text(value)), []) + wildcard.get(str(label), [])
    return [m for m in candidates if selector_matches(selector, m.labels)]


# --- versions and images ---------------------------------------------------------------

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(value: str) -> tuple[int, int, int] | None:
    """"2.60.0" -> (2, 60, 0); "2.52" -> (2, 52, 0); anything else (nightly, "") -> None."""
    match = _VERSION.match(value.strip()) if isinstance(value, str) else None
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def format_version(version: tuple[int, int, int]) -> str:
    return ".".join(str(p) for p in version)


@dataclass(frozen=True)
class ImageRef:
    repository: str  # registry/path/name, without tag or digest
    tag: str
    digest: str

    @property
    def name(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    @property
    def is_ray_image(self) -> bool:
        """Images built by the Ray project (ray, ray-ml, ray-llm): their tag carries the Ray version."""
        return self.name in ("ray", "ray-ml", "ray-llm")

    @property
    def ray_version(self) -> tuple[int, int, int] | None:
        match = re.match(r"(\d+\.\d+\.\d+)(?:$|[-.])", self.tag)
        return parse_version(match.group(1)) if match else None


def parse_image(image: str) -> ImageRef:
    rest, _, digest = image.partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        return ImageRef(rest[:colon], rest[colon + 1:], digest)
    return ImageRef(rest, "", digest)


# --- external references ---------------------------------------------------------------


def declared_external(document: Document) -> set[tuple[str, str]]:
    """(Kind, name) pairs the resource declares as living outside the bundle."""
    value = document.annotations.get(EXTERNAL_ANNOTATION)
    declared: set[tuple[str, str]] = set()
    for entry in re.split(r"[,;\n]", text(value)):
        kind, slash, name = entry.strip().partition("/")
        if slash and kind.strip() and name.strip():
            declared.add((kind.strip(), name.strip()))
    return declared


def is_external(document: Document, kind: str, name: str) -> bool:
    return (kind, name) in declared_external(document)
