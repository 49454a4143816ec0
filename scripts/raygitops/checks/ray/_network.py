"""Pods and Services as selectors see them, counting what KubeRay creates itself.

KubeRay labels every Ray pod (ray.io/cluster, ray.io/node-type, ray.io/group)
and creates a head Service (and a serve Service for a RayService) that no
manifest contains; references and exposure checks must count them. The views
are computed once per bundle and indexed by label, so large bundles stay fast.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...inputs.documents import Document
from ..subjects import workload_pod_spec_path
from ._access import (
    container_port_names,
    container_port_numbers,
    containers,
    dig,
    mapping,
    scalar_text,
    sequence,
    text,
)
from ._ray import RAY_KINDS, WORKLOAD_KINDS, Path, RayGroup, build_cluster_spec

if TYPE_CHECKING:
    from . import Bundle

# Ports the Ray head always listens on, whether or not the template declares them.
GCS_PORT, DASHBOARD_PORT, CLIENT_PORT, METRICS_PORT, SERVE_PORT = 6379, 8265, 10001, 8080, 8000
HEAD_DEFAULT_PORTS = {
    "gcs-server": GCS_PORT,
    "dashboard": DASHBOARD_PORT,
    "client": CLIENT_PORT,
    "metrics": METRICS_PORT,
}
# The three ports that give control of the cluster (the Jobs API runs arbitrary code).
CONTROL_PORTS = {GCS_PORT: "GCS", DASHBOARD_PORT: "dashboard", CLIENT_PORT: "Ray client"}


@dataclass(frozen=True, slots=True)  # one per pod group of the bundle: no __dict__ each
class PodModel:
    """The labels and ports of the pods a document creates, as selectors see them.

    A label value of None matches any selector value: KubeRay sets `ray.io/serve`
    on RayService pods at run time.
    """

    document: Document
    labels: dict[str, str | None]
    port_names: dict[str, int | None]
    port_numbers: frozenset[int]
    is_ray_head: bool
    token_auth: bool


def ray_cluster_name(document: Document) -> str:
    """The `ray.io/cluster` label of the pods. A RayJob's or RayService's cluster is named
    `<name>-raycluster-<5 random characters>` at run time, so no selector written in git can
    name it: the '<' (invalid in a label value) keeps every selector value from matching."""
    if document.kind == "RayCluster":
        return document.name
    return f"{document.name}-raycluster-<random>"


def start_param_ports(group_spec: dict[str, Any]) -> set[int]:
    """The ports `ray start` listens on by rayStartParams (`port`, `dashboard-port`, `metrics-export-port`, ...)."""
    ports: set[int] = set()
    for key, value in mapping(group_spec.get("rayStartParams")).items():
        if str(key) == "port" or str(key).endswith("-port"):
            number = scalar_text(value)
            if number.isdigit():
                ports.add(int(number))
    return ports


# The labels of a Ray pod that its template (or the group's `labels`) cannot override (common/pod.go labelPod).
PROTECTED_RAY_LABELS = ("ray.io/cluster", "ray.io/node-type", "ray.io/group")


def kuberay_label_value(text: str) -> str:
    """A label value as KubeRay's CheckLabel makes it: its last 63 characters, not starting with punctuation."""
    text = text[-63:]
    return "r" + text[1:] if text[:1] in string.punctuation else text


def ray_pod_labels(cluster_name: str, group: RayGroup) -> dict[str, str | None]:
    """The labels KubeRay puts on a group's pods (labelPod): its own, then the template's and the group's
    `labels` over them, except the three that identify the pod's cluster, type and group."""
    node_type = "head" if group.is_head else "worker"
    labels: dict[str, str | None] = {
        "ray.io/is-ray-node": "yes",
        "ray.io/cluster": cluster_name,
        "ray.io/node-type": node_type,
        "ray.io/group": "headgroup" if group.is_head else group.name,
        "ray.io/identifier": kuberay_label_value(f"{cluster_name}-{node_type}"),
        "app.kubernetes.io/name": "kuberay",
        "app.kubernetes.io/created-by": "kuberay-operator",
    }
    for key, value in [*group.pod_labels.items(), *mapping(group.spec.get("labels")).items()]:
        if str(key) not in PROTECTED_RAY_LABELS:
            labels[str(key)] = scalar_text(value)
    return labels


def pod_models(document: Document, shared: dict[object, Any] | None = None) -> list[PodModel]:
    """The pods of one document; equal port tables are one object across the documents that share `shared`."""
    shared = {} if shared is None else shared
    cluster = build_cluster_spec(document)
    models: list[PodModel] = []
    if cluster is not None:
        name = ray_cluster_name(document)
        for group in cluster.groups:
            labels = ray_pod_labels(name, group)
            if document.kind == "RayService":
                labels["ray.io/serve"] = None
            # KubeRay adds only the metrics port to the Ray container; other names must be declared.
            names: dict[str, int | None] = {"metrics": METRICS_PORT}
            numbers = {METRICS_PORT}
            if group.is_head:  # Ray listens on these whether or not the template declares them
                numbers.update(HEAD_DEFAULT_PORTS.values())
            if document.kind == "RayService":  # Serve proxies listen on every node
                numbers.add(SERVE_PORT)
            numbers.update(start_param_ports(group.spec))
            for _, container in containers(group.pod_spec):
                names.update(container_port_names(container))
                numbers.update(container_port_numbers(container))
            names, ports = _shared_ports(shared, names, numbers)
            models.append(PodModel(document, labels, names, ports, group.is_head, cluster.token_auth))
    workload_path = workload_pod_spec_path(document)
    if workload_path is not None:
        spec = mapping(dig(document.body, *workload_path))
        labels_at = ("metadata", "labels") if document.kind == "Pod" else (*workload_path[:-1], "metadata", "labels")
        labels = {str(k): scalar_text(v) for k, v in mapping(dig(document.body, *labels_at)).items()}
        names = {}
        numbers = set()
        for _, container in containers(spec):
            names.update(container_port_names(container))
            numbers.update(container_port_numbers(container))
        names, ports = _shared_ports(shared, names, numbers)
        models.append(PodModel(document, labels, names, ports, False, False))
    return models


def _shared_ports(
    shared: dict[object, Any], names: dict[str, int | None], numbers: set[int]
) -> tuple[dict[str, int | None], frozenset[int]]:
    """One object per distinct port table: pods of a bundle mostly repeat a few, and a copy per pod
    was 4 MiB at 20,000 resources. The tables are never changed once made."""
    ports = frozenset(numbers)
    return shared.setdefault(tuple(names.items()), names), shared.setdefault(ports, ports)


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


@dataclass(frozen=True, slots=True)
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
    cluster = build_cluster_spec(document)
    if cluster is None or document.kind not in ("RayCluster", "RayService"):
        return []
    head_container = cluster.head.ray_container or {}
    # The head Service carries the head container's declared ports, or KubeRay's defaults when it
    # declares none; metrics is always there.
    head_ports: dict[str, int | None] = container_port_names(head_container) or dict(HEAD_DEFAULT_PORTS)
    head_ports.setdefault("metrics", METRICS_PORT)
    head_name = text(dig(cluster.head.spec, "headService", "metadata", "name")) or f"{document.name}-head-svc"
    cluster_label = ray_cluster_name(document)
    labels: dict[str, str | None] = {
        "ray.io/cluster": cluster_label,
        "ray.io/node-type": "head",
        "app.kubernetes.io/name": "kuberay",
        "app.kubernetes.io/created-by": "kuberay-operator",
    }
    services = [
        ServiceModel(
            document,
            head_name,
            labels,
            {"ray.io/cluster": cluster_label, "ray.io/node-type": "head"},
            [{"name": n, "port": p, "targetPort": p} for n, p in head_ports.items() if p is not None],
            True,
        )
    ]
    wants_serve = document.kind == "RayService" or document.annotations.get("ray.io/enable-serve-service") == "true"
    if wants_serve:
        serve_name = text(dig(document.spec, "serveService", "metadata", "name")) or f"{document.name}-serve-svc"
        serve_port = head_ports.get("serve") or SERVE_PORT
        services.append(
            ServiceModel(
                document,
                serve_name,
                {**labels, "ray.io/serve": None},
                {"ray.io/serve": "true"},
                [{"name": "serve", "port": serve_port, "targetPort": serve_port}],
                True,
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
    shared: dict[object, Any] = {}
    return bundle.memo("pods", lambda: [p for d in bundle.of_kind(*kinds) for p in pod_models(d, shared)])


def bundle_services(bundle: Bundle) -> list[ServiceModel]:
    """Every Service of the bundle and every Service KubeRay will create for it, computed once."""

    def compute() -> list[ServiceModel]:
        found: list[ServiceModel] = []
        for document in bundle.of_kind("Service", *RAY_KINDS):
            models = [bundle_service(document)] if document.kind == "Service" else kuberay_services(document)
            found.extend(m for m in models if m is not None)
        return found

    return bundle.memo("services", compute)


def _label_index(models: list[Any], key: str) -> tuple[dict[str, list[Any]], list[Any]]:
    """The models by their value of label `key`, and those whose value is None (matching any value)."""
    by_value: dict[str, list[Any]] = {}
    wildcard: list[Any] = []
    for model in models:
        if key in model.labels:
            value = model.labels[key]
            if value is None:
                wildcard.append(model)
            else:
                by_value.setdefault(value, []).append(model)
    return by_value, wildcard


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
    match_labels = (
        selector.get("matchLabels") if ("matchLabels" in selector or "matchExpressions" in selector) else selector
    )
    candidates = models
    if isinstance(match_labels, dict) and match_labels:
        label, value = next(iter(match_labels.items()))
        # One index per label key that selectors use, not one over every label of every pod: at
        # 20,000 resources an index of all labels alone held 7 MiB.
        by_value, wildcard = bundle.memo(("index", what, str(label)), lambda: _label_index(models, str(label)))
        candidates = by_value.get(scalar_text(value), []) + wildcard
    return [m for m in candidates if selector_matches(selector, m.labels)]
