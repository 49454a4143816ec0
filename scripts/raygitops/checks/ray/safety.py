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
from ..subjects import PodTemplate, pod_templates
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
from ._ray import RAY_KINDS, WORKLOAD_KINDS, Path, cluster_spec, format_version, parse_image, parse_version
from .raycluster import TOKEN_AUTH_MIN_RAY

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
    """Ray clusters use token authentication (authOptions.mode: token), so the Jobs API is not open to any pod.

    Why: without token authentication the dashboard's Jobs API (port 8265) runs whatever any pod that reaches it
    submits; with authOptions.mode: token, KubeRay sets the cluster up so that Ray rejects requests without the
    token. On a rayVersion too old for token mode the finding says to upgrade Ray first.

    Fails:
        kind: RayCluster
        spec:
          authOptions: {mode: disabled}

    Instead:
        kind: RayCluster
        spec:
          authOptions: {mode: token}
    """
    cluster = cluster_spec(document)
    if cluster is not None and not cluster.token_auth:
        version = parse_version(cluster.ray_version)
        if version is not None and version < TOKEN_AUTH_MIN_RAY:  # token mode would be rejected on this Ray
            fix = (
                f"upgrade Ray to {format_version(TOKEN_AUTH_MIN_RAY)} or later (rayVersion and images) first, "
                "then set authOptions.mode: token"
            )
        else:
            fix = "set authOptions.mode: token"
        yield Problem(
            (*cluster.path, "authOptions"),
            f"the cluster has no token authentication, so any pod that reaches port 8265 can run code; {fix}",
        )


# --- pod hardening ---------------------------------------------------------------------------


def _all_containers(spec: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    for field in ("initContainers", "containers"):
        for index, container in containers(spec, field):
            yield (field, index), container


# The container-level hardening rules below run on the whole document, not on each pod template: a
# warning is reported once per resource and rule, at the first container concerned, naming every one.
Hits = list[tuple[Path, str]]  # (where, what) of each container a rule concerns


def _once(hits: Hits, finding: str, fix: str) -> Iterator[Problem]:
    """One problem per resource and rule, at the first container concerned, naming every one of them."""
    if hits:
        named = "; ".join(label for _, label in hits)
        yield Problem(hits[0][0], f"{named}: {finding}; {fix}")


def _container_label(container: dict[str, Any], template_label: str) -> str:
    return f"container {text(container.get('name'))!r} in {template_label}"


def _effective(container: dict[str, Any], pod_spec: dict[str, Any], field: str) -> Any:
    value = dig(container, "securityContext", field)
    return value if value is not None else dig(pod_spec, "securityContext", field)


@_warning_rule("privileged-container", kinds=POD_KINDS)
def privileged(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """No container runs privileged.

    Why: a privileged container has every capability and the host's devices, so whoever runs code in it (through
    Ray's Jobs API, for instance) controls the node. Ray does not need it, GPUs included: the device plugin hands
    the GPU to the container.

    Fails:
        containers:
          - name: app
            securityContext: {privileged: true}

    Instead:
        containers:
          - name: app
            securityContext: {allowPrivilegeEscalation: false}
    """
    hits: Hits = [
        ((*template.path, *where, "securityContext", "privileged"), _container_label(container, template.label))
        for template in pod_templates(document)
        for where, container in _all_containers(template.spec)
        if dig(container, "securityContext", "privileged") is True
    ]
    yield from _once(hits, "privileged", "remove privileged: true")


@_warning_rule("host-namespace", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def host_namespace(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Pods do not share the node's network, PID or IPC namespace.

    Why: hostNetwork, hostPID or hostIPC put the pod in the node's namespaces: it sees every process or binds the
    node's ports, and Ray's ports (6379, 8265, 10001) then open on the node itself and clash between pods.

    Fails:
        spec:
          hostNetwork: true
          containers: [{name: app, image: 'nginx:1.27'}]

    Instead:
        spec:
          containers: [{name: app, image: 'nginx:1.27'}]
    """
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if template.spec.get(field) is True:
            yield Problem(
                (*template.path, field), f"{template.label} sets {field}: true, sharing the node's namespace; remove it"
            )


@_warning_rule("host-path-volume", kinds=POD_KINDS, subject=Subject.POD_TEMPLATE)
def host_path(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """Pods do not mount hostPath volumes.

    Why: a hostPath volume reads and writes the node's file system, which outlives the pod and differs from node to
    node; a Ray pod rescheduled elsewhere loses its data, and a writable host path lets the pod tamper with the node.

    Fails:
        volumes:
          - name: logs
            hostPath: {path: /var/log}

    Instead:
        volumes:
          - name: logs
            emptyDir: {}
    """
    for index, volume in enumerate(sequence(template.spec.get("volumes"))):
        if isinstance(volume, dict) and "hostPath" in volume:
            yield Problem(
                (*template.path, "volumes", index, "hostPath"),
                f"volume {text(volume.get('name'))!r} in {template.label} mounts a host path; use an emptyDir or a PersistentVolumeClaim",
            )


@_warning_rule("privilege-escalation", kinds=POD_KINDS)
def privilege_escalation(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Every container sets securityContext.allowPrivilegeEscalation: false.

    Why: unless allowPrivilegeEscalation is false, a process in the container may gain more privileges than its
    parent (setuid binaries), and the restricted Pod Security Standard rejects the pod.

    Fails:
        containers:
          - name: app
            securityContext: {readOnlyRootFilesystem: true}

    Instead:
        containers:
          - name: app
            securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
    """
    hits: Hits = [
        (
            (*template.path, *where, "securityContext", "allowPrivilegeEscalation"),
            _container_label(container, template.label),
        )
        for template in pod_templates(document)
        for where, container in _all_containers(template.spec)
        if dig(container, "securityContext", "allowPrivilegeEscalation") is not False
    ]
    yield from _once(hits, "may escalate privileges", "set securityContext.allowPrivilegeEscalation: false")


# Ray's own images set `USER ray` (uid 1000) in their Dockerfile: without a runAsUser they do not run as root.
RAY_USER_IMAGES = frozenset({"rayproject/ray", "rayproject/ray-ml", "rayproject/ray-llm"})


def _image_runs_as_ray_user(image: Any) -> bool:
    if not isinstance(image, str):
        return False
    repository = parse_image(image).repository.removeprefix("docker.io/").removeprefix("index.docker.io/")
    return repository in RAY_USER_IMAGES


@_warning_rule("run-as-root", kinds=POD_KINDS)
def run_as_root(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Containers run as non-root: runAsNonRoot: true (pod or container) and no runAsUser: 0.

    Why: a container running as uid 0 is root on the node once it escapes, and the restricted Pod Security Standard
    rejects it; Ray's images run as uid 1000, so runAsNonRoot: true costs nothing. A rayproject/ray image without a
    runAsUser is not reported: its Dockerfile already runs it as uid 1000.

    Fails:
        spec:
          securityContext: {runAsUser: 0}

    Instead:
        spec:
          securityContext: {runAsNonRoot: true}
    """
    as_root: Hits = []
    maybe_root: Hits = []
    for template in pod_templates(document):
        for where, container in _all_containers(template.spec):
            user = _effective(container, template.spec, "runAsUser")
            label = _container_label(container, template.label)
            if integer(user) == 0:
                as_root.append(((*template.path, *where, "securityContext", "runAsUser"), label))
            elif (
                _effective(container, template.spec, "runAsNonRoot") is not True
                and not integer(user)
                and not _image_runs_as_ray_user(container.get("image"))
            ):
                maybe_root.append(((*template.path, "securityContext", "runAsNonRoot"), label))
    yield from _once(as_root, "runs as uid 0", "use a non-root uid (Ray images use 1000)")
    yield from _once(maybe_root, "may run as root", "set securityContext.runAsNonRoot: true")


@_warning_rule("missing-limits", kinds=POD_KINDS)
def missing_limits(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Every container sets cpu and memory limits (Ray sizes itself from them).

    Why: Ray sizes a node from its container's limits (CPUs, memory for the object store); without them it counts
    the whole machine's cores and memory, schedules more than the pod gets, and the pod is OOM-killed or throttled.
    For the Ray container, KubeRay takes num-cpus from rayStartParams, else the cpu limit, else the cpu request
    (common/pod.go), so any of the three sizes Ray's CPUs.

    Fails:
        containers:
          - name: app
            resources:
              limits: {cpu: 100m}

    Instead:
        containers:
          - name: app
            resources:
              limits: {cpu: 100m, memory: 64Mi}
    """
    cluster = cluster_spec(document)
    # The Ray container of each group (by identity), whose CPUs KubeRay also sizes from num-cpus or the request.
    cpus_sized = {
        id(group.ray_container)
        for group in (cluster.groups if cluster is not None else [])
        if group.ray_container is not None
        and (
            "num-cpus" in group.ray_start_params or "cpu" in mapping(dig(group.ray_container, "resources", "requests"))
        )
    }
    hits: Hits = []
    for template in pod_templates(document):
        for where, container in _all_containers(template.spec):
            limits = mapping(dig(container, "resources", "limits"))
            missing = [
                r for r in ("cpu", "memory") if r not in limits and not (r == "cpu" and id(container) in cpus_sized)
            ]
            if missing:
                label = f"{_container_label(container, template.label)} has no {' or '.join(missing)} limit"
                hits.append(((*template.path, *where, "resources", "limits"), label))
    yield from _once(hits, "Ray sizes itself from the limits", "set resources.limits.cpu and memory")


@_warning_rule("image-unpinned", kinds=POD_KINDS)
def image_unpinned(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Images are pinned to a tag or digest, never `latest` or untagged.

    Why: an untagged or `latest` image is pulled again as it changes, so pods of one cluster can run different builds
    (for Ray, different Ray versions that cannot join one cluster), and a rollback does not bring the old code back.

    Fails:
        containers:
          - name: app
            image: nginx:latest

    Instead:
        containers:
          - name: app
            image: nginx:1.27
    """
    hits: Hits = []
    for template in pod_templates(document):
        for where, container in _all_containers(template.spec):
            image = container.get("image")
            if not isinstance(image, str) or not image:
                continue
            reference = parse_image(image)
            if reference.digest:
                continue
            if not reference.tag or reference.tag == "latest":
                hits.append(((*template.path, *where, "image"), f"image {image!r} in {template.label}"))
    yield from _once(
        hits,
        "is not pinned, so each pod may run another build",
        "use a release tag (<repository>:<version>) or a digest",
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


@_warning_rule("literal-secret-env", kinds=POD_KINDS)
def literal_secret_env(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Passwords, tokens and keys come from a secretKeyRef, not a literal env value.

    Why: a password, token or key written as an env value sits in the Git history and in the resource for anyone who
    can read it; a Secret referenced with valueFrom.secretKeyRef keeps it out of the repository.

    Fails:
        env:
          - name: HF_TOKEN
            value: hf_abc123

    Instead:
        env:
          - name: HF_TOKEN
            valueFrom:
              secretKeyRef: {name: hf, key: token}
    """
    hits: Hits = []
    for template in pod_templates(document):
        for where, container in _all_containers(template.spec):
            for index, entry in env_entries(container):
                name, value = text(entry.get("name")), entry.get("value")
                if isinstance(value, str) and looks_secret(name, value):
                    hits.append(((*template.path, *where, "env", index, "value"), f"env {name} in {template.label}"))
    yield from _once(hits, "a literal secret in the manifest", "move it to a Secret and use valueFrom.secretKeyRef")


@_warning_rule("namespace-without-networkpolicy", kinds=RAY_KINDS)
def namespace_without_networkpolicy(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A namespace that runs Ray pods has a NetworkPolicy in the same bundle (a bundle known to be complete).

    Why: Kubernetes lets every pod reach every other pod unless a NetworkPolicy says otherwise, so Ray's GCS (6379),
    client (10001) and dashboard (8265) ports are open to every workload of the cluster. Only a complete bundle (a
    kustomization's render, `--complete`) shows that no policy exists; a file given alone says nothing about it.

    Fails:
        kind: RayCluster
        metadata: {name: rc}
        # and no NetworkPolicy in the bundle

    Instead:
        kind: NetworkPolicy
        metadata: {name: ray}
        spec:
          podSelector: {}
        # in the same bundle and namespace as the RayCluster
    """
    if cluster_spec(document) is None or not bundle.complete:
        return
    if any(same_namespace(policy, document) for policy in bundle.of_kind("NetworkPolicy")):
        return
    where = f"namespace {document.namespace!r}" if document.namespace else "its namespace"
    yield Problem(
        ("metadata", "namespace") if document.namespace else ("metadata",),
        f"no NetworkPolicy for {where} in this bundle, so GCS, client and dashboard ports are open to every pod; add one",
    )
