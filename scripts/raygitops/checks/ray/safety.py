"""Safety policy for Ray pods and the built-in kinds around them.

A reachable Ray dashboard or client port without authentication is remote code
execution: the Jobs API runs any command a caller submits. The pod-level checks
are the usual hardening (no root, no privilege escalation, limits, pinned
images, secrets out of env literals). All of these are warnings by default and
errors under `--profile prod`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from ...findings import Severity
from ...inputs.documents import Document
from ..subjects import PodTemplate
from . import SAFETY, Bundle, CheckFunction, Problem, Subject, rule
from ._access import containers, dig, env_entries, integer, mapping, sequence, text
from ._network import (
    CONTROL_PORTS,
    PodModel,
    ServiceModel,
    bundle_pods,
    bundle_service,
    ingress_backends,
    same_namespace,
    select,
    services_by_name,
)
from ._ray import RAY_KINDS, WORKLOAD_KINDS, cluster_spec, parse_image

POD_KINDS = (*RAY_KINDS, *WORKLOAD_KINDS)
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")

# ingress-nginx authenticates with external auth (auth-url) or with basic/digest auth (auth-type plus the
# auth-secret holding the users); auth-signin alone only says where to send a browser that auth-url refused.
NGINX = "nginx.ingress.kubernetes.io/"
NGINX_AUTH_TYPES = ("basic", "digest")
ALB_AUTH_TYPE = "alb.ingress.kubernetes.io/auth-type"
ALB_AUTH_TYPES = ("cognito", "oidc")
TRAEFIK_MIDDLEWARES = "traefik.ingress.kubernetes.io/router.middlewares"
TRAEFIK_AUTH_FIELDS = ("forwardAuth", "basicAuth", "digestAuth")
# Ours: the user declares an auth proxy the controllers above do not describe (say how, in the value).
DECLARED_AUTH = "raygitops.io/auth"


def _traefik_auth_middlewares(bundle: Bundle) -> set[str]:
    """`<namespace>-<name>`, as router.middlewares names them, of each Traefik Middleware that authenticates."""
    names = set()
    for document in bundle.documents:
        is_traefik_middleware = document.kind == "Middleware" and document.api_version.startswith(
            ("traefik.io/", "traefik.containo.us/")
        )
        if is_traefik_middleware and any(field in document.spec for field in TRAEFIK_AUTH_FIELDS):
            names.add(f"{document.namespace or 'default'}-{document.name}")
    return names


def _ingress_authenticates(document: Document, bundle: Bundle) -> bool:
    """Whether the Ingress controller checks credentials before it forwards a request."""
    annotations = document.annotations
    if text(annotations.get(NGINX + "auth-url")).strip():
        return True
    if (
        text(annotations.get(NGINX + "auth-type")) in NGINX_AUTH_TYPES
        and text(annotations.get(NGINX + "auth-secret")).strip()
    ):
        return True
    if text(annotations.get(ALB_AUTH_TYPE)) in ALB_AUTH_TYPES:
        return True
    referenced = {m.strip().split("@")[0] for m in text(annotations.get(TRAEFIK_MIDDLEWARES)).split(",") if m.strip()}
    if referenced & _traefik_auth_middlewares(bundle):
        return True
    return bool(text(annotations.get(DECLARED_AUTH)).strip())


def _warning_rule(
    id: str, kinds: tuple[str, ...], subject: Subject = Subject.DOCUMENT
) -> Callable[[CheckFunction], CheckFunction]:
    return rule(id, kinds=kinds, category=SAFETY, severity=Severity.WARNING, subject=subject)


# --- exposure of the control ports ----------------------------------------------------------


def _control_port(service: ServiceModel, port: dict[str, Any], pods: list[PodModel]) -> int | None:
    """The Ray control port (6379, 8265, 10001) a Service port leads to on Ray head pods, if any."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, str):
        numbers = {pod.port_names.get(target) for pod in pods if pod.is_ray_head}
        target = next((n for n in numbers if n is not None), None)
    target = integer(target)
    return target if target in CONTROL_PORTS and any(p.is_ray_head for p in pods) else None


def _selected_heads(service: ServiceModel, bundle: Bundle) -> list[PodModel]:
    if service.created_by_kuberay:  # KubeRay's own Services lead to their own cluster's head
        return [p for p in bundle_pods(bundle) if p.is_ray_head and p.document is service.document]
    return [
        p
        for p in select(bundle, "pods", service.selector)
        if p.is_ray_head and same_namespace(p.document, service.document)
    ]


@_warning_rule("ray-port-exposed", kinds=("Service", "Ingress", *RAY_KINDS))
def ray_port_exposed(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """The dashboard (8265), client (10001) and GCS (6379) ports are not reachable from outside without authentication.

    Why: the Jobs API behind the dashboard runs any command it is sent. A LoadBalancer or NodePort Service, or an
    Ingress, that leads to these ports of a cluster without token authentication hands that to the network. An
    Ingress counts as authenticated only when its controller checks credentials: ingress-nginx `auth-url`, or
    `auth-type: basic|digest` with `auth-secret`; ALB `auth-type: cognito|oidc`; a Traefik middleware in the bundle
    with forwardAuth/basicAuth/digestAuth; or `raygitops.io/auth` declaring a proxy. `auth-signin` alone only
    redirects browsers and authenticates nothing.

    Fails:
        kind: Ingress
        metadata:
          annotations:
            nginx.ingress.kubernetes.io/auth-signin: https://oauth2.example.com/oauth2/start
        # backend: the dashboard Service of a RayCluster without authOptions.mode: token

    Instead:
        kind: Ingress
        metadata:
          annotations:
            nginx.ingress.kubernetes.io/auth-url: http://oauth2-proxy.oauth2-proxy.svc.cluster.local/oauth2/auth
            nginx.ingress.kubernetes.io/auth-signin: https://oauth2.example.com/oauth2/start
    """
    if document.kind in RAY_KINDS:
        yield from _exposed_by_ray_resource(document)
    elif document.kind == "Service":
        yield from _exposed_by_service(document, bundle)
    else:
        yield from _exposed_by_ingress(document, bundle)


def _exposed_by_ray_resource(document: Document) -> Iterator[Problem]:
    cluster = cluster_spec(document)
    if cluster is None or cluster.token_auth:
        return
    head = cluster.head
    service_type = head.spec.get("serviceType")
    if service_type in EXPOSED_SERVICE_TYPES:
        yield Problem(
            (*head.path, "serviceType"),
            f"the head Service is a {service_type} without token authentication, exposing the dashboard and Jobs API; set authOptions.mode: token or use ClusterIP",
        )
    override_type = dig(head.spec, "headService", "spec", "type")
    if override_type in EXPOSED_SERVICE_TYPES:
        yield Problem(
            (*head.path, "headService", "spec", "type"),
            f"headService makes the head Service a {override_type} without token authentication; set authOptions.mode: token or use ClusterIP",
        )
    if head.spec.get("enableIngress") is True:
        yield Problem(
            (*head.path, "enableIngress"),
            "enableIngress publishes the dashboard without token authentication; set authOptions.mode: token or remove enableIngress",
        )


def _exposed_by_service(document: Document, bundle: Bundle) -> Iterator[Problem]:
    service = bundle_service(document)
    service_type = document.spec.get("type")
    if service is None or service_type not in EXPOSED_SERVICE_TYPES:
        return
    heads = _selected_heads(service, bundle)
    if not heads or all(p.token_auth for p in heads):
        return
    for index, port in enumerate(service.ports):
        control = _control_port(service, port, heads)
        if control is not None:
            yield Problem(
                ("spec", "ports", index),
                f"this {service_type} exposes the Ray {CONTROL_PORTS[control]} port {control} of a cluster without token authentication; "
                "set authOptions.mode: token on the cluster or make the Service ClusterIP",
            )


def _services_named(name: str, namespace_of: Document, bundle: Bundle) -> list[ServiceModel]:
    return [s for s in services_by_name(bundle).get(name, []) if same_namespace(s.document, namespace_of)]


def _service_port(service: ServiceModel, backend: dict[str, Any]) -> dict[str, Any] | None:
    wanted_name = dig(backend, "port", "name")
    wanted_number = dig(backend, "port", "number")
    for port in service.ports:
        if wanted_name is not None and port.get("name") == wanted_name:
            return port
        if wanted_number is not None and integer(port.get("port")) == integer(wanted_number):
            return port
    return None


def _exposed_by_ingress(document: Document, bundle: Bundle) -> Iterator[Problem]:
    if _ingress_authenticates(document, bundle):
        return
    for path, backend in ingress_backends(document):
        for service in _services_named(text(backend.get("name")), document, bundle):
            port = _service_port(service, backend)
            if port is None:
                continue
            heads = _selected_heads(service, bundle)
            if not heads or all(p.token_auth for p in heads):
                continue
            control = _control_port(service, port, heads)
            if control is not None:
                yield Problem(
                    path,
                    f"this Ingress routes to the Ray {CONTROL_PORTS[control]} port {control} of a cluster without token authentication; "
                    "set authOptions.mode: token, or put an auth proxy in front (annotate raygitops.io/auth with how)",
                )


@_warning_rule("token-auth-disabled", kinds=RAY_KINDS)
def token_auth_disabled(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Ray clusters use token authentication (authOptions.mode: token), so the Jobs API is not open to any pod."""
    cluster = cluster_spec(document)
    if cluster is not None and not cluster.token_auth:
        yield Problem(
            (*cluster.path, "authOptions"),
            "the cluster has no token authentication, so any pod that reaches port 8265 can run code; set authOptions.mode: token",
        )


# --- pod hardening ---------------------------------------------------------------------------


def _all_containers(spec: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    for field in ("initContainers", "containers"):
        for index, container in containers(spec, field):
            yield (field, index), container


def _effective(container: dict[str, Any], pod_spec: dict[str, Any], field: str) -> Any:
    value = dig(container, "securityContext", field)
    return value if value is not None else dig(pod_spec, "securityContext", field)


@_warning_rule("privileged-container", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def privileged(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """No container runs privileged."""
    for where, container in _all_containers(template.spec):
        if dig(container, "securityContext", "privileged") is True:
            yield Problem(
                (*template.path, *where, "securityContext", "privileged"),
                f"container {text(container.get('name'))!r} in {template.label} is privileged; remove privileged: true",
            )


@_warning_rule("host-namespace", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def host_namespace(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Pods do not share the node's network, PID or IPC namespace."""
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if template.spec.get(field) is True:
            yield Problem(
                (*template.path, field), f"{template.label} sets {field}: true, sharing the node's namespace; remove it"
            )


@_warning_rule("host-path-volume", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def host_path(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Pods do not mount hostPath volumes."""
    for index, volume in enumerate(sequence(template.spec.get("volumes"))):
        if isinstance(volume, dict) and "hostPath" in volume:
            yield Problem(
                (*template.path, "volumes", index, "hostPath"),
                f"volume {text(volume.get('name'))!r} in {template.label} mounts a host path; use an emptyDir or a PersistentVolumeClaim",
            )


@_warning_rule("privilege-escalation", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def privilege_escalation(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Every container sets securityContext.allowPrivilegeEscalation: false."""
    for where, container in _all_containers(template.spec):
        if dig(container, "securityContext", "allowPrivilegeEscalation") is not False:
            yield Problem(
                (*template.path, *where, "securityContext", "allowPrivilegeEscalation"),
                f"container {text(container.get('name'))!r} in {template.label} may escalate privileges; set securityContext.allowPrivilegeEscalation: false",
            )


@_warning_rule("run-as-root", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def run_as_root(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Containers run as non-root: runAsNonRoot: true (pod or container) and no runAsUser: 0."""
    for where, container in _all_containers(template.spec):
        name = text(container.get("name"))
        user = _effective(container, template.spec, "runAsUser")
        if integer(user) == 0:
            yield Problem(
                (*template.path, *where, "securityContext", "runAsUser"),
                f"container {name!r} in {template.label} runs as uid 0; use a non-root uid (Ray images use 1000)",
            )
        elif _effective(container, template.spec, "runAsNonRoot") is not True and not integer(user):
            yield Problem(
                (*template.path, "securityContext", "runAsNonRoot"),
                f"container {name!r} in {template.label} may run as root; set securityContext.runAsNonRoot: true",
            )


@_warning_rule("missing-limits", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def missing_limits(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Every container sets cpu and memory limits (Ray sizes itself from them)."""
    for where, container in _all_containers(template.spec):
        limits = mapping(dig(container, "resources", "limits"))
        missing = [r for r in ("cpu", "memory") if r not in limits]
        if missing:
            yield Problem(
                (*template.path, *where, "resources", "limits"),
                f"container {text(container.get('name'))!r} in {template.label} has no {' or '.join(missing)} limit; set resources.limits.{missing[0]}",
            )


@_warning_rule("image-unpinned", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def image_unpinned(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Images are pinned to a tag or digest, never `latest` or untagged."""
    for where, container in _all_containers(template.spec):
        image = container.get("image")
        if not isinstance(image, str) or not image:
            continue
        reference = parse_image(image)
        if reference.digest:
            continue
        if not reference.tag or reference.tag == "latest":
            yield Problem(
                (*template.path, *where, "image"),
                f"image {image!r} in {template.label} is not pinned; use a release tag ({reference.repository}:<version>) or a digest",
            )


_SECRET_WORDS = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "CREDENTIALS", "APIKEY"}
_SECRET_SUFFIXES = ("API_KEY", "ACCESS_KEY", "PRIVATE_KEY", "SECRET_KEY", "ACCESS_KEY_ID")
_NOT_SECRET_SUFFIXES = ("PATH", "FILE", "DIR", "MODE", "ENABLED", "ENABLE", "NAME", "TYPE", "URL", "HOST", "PORT")
_HARMLESS_VALUES = {"", "true", "false", "0", "1", "yes", "no", "none"}


def looks_secret(name: str, value: str) -> bool:
    words = re.split(r"[_\-.]", name.upper())
    if words and words[-1] in _NOT_SECRET_SUFFIXES:
        return False
    if value.strip().lower() in _HARMLESS_VALUES or value.startswith("$("):
        return False
    return bool(_SECRET_WORDS & set(words)) or name.upper().endswith(_SECRET_SUFFIXES)


@_warning_rule("literal-secret-env", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def literal_secret_env(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Passwords, tokens and keys come from a secretKeyRef, not a literal env value."""
    for where, container in _all_containers(template.spec):
        for index, entry in env_entries(container):
            name, value = text(entry.get("name")), entry.get("value")
            if isinstance(value, str) and looks_secret(name, value):
                yield Problem(
                    (*template.path, *where, "env", index, "value"),
                    f"env {name} in {template.label} holds a literal secret; move it to a Secret and use valueFrom.secretKeyRef",
                )


@_warning_rule("namespace-without-networkpolicy", kinds=RAY_KINDS)
def namespace_without_networkpolicy(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A namespace that runs Ray pods has a NetworkPolicy in the same bundle."""
    if cluster_spec(document) is None:
        return
    if any(same_namespace(policy, document) for policy in bundle.of_kind("NetworkPolicy")):
        return
    where = f"namespace {document.namespace!r}" if document.namespace else "its namespace"
    yield Problem(
        ("metadata", "namespace") if document.namespace else ("metadata",),
        f"no NetworkPolicy for {where} in this bundle, so GCS, client and dashboard ports are open to every pod; add one",
    )
