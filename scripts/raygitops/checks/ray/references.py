"""References inside one rendered bundle: every name must point at something.

Schemas cannot see these: a Service whose selector matches no pod, an Ingress
backend naming a Service that does not exist, a ConfigMap volume for a
ConfigMap nobody ships, a RayJob script that is not mounted on the head. They
count the Services and pod labels KubeRay creates itself.

Objects that live outside the bundle on purpose (a Secret created by hand, as
the token Secret must be) are declared on the referencing resource with the
annotation `raygitops.io/external: "Secret/ray-token, ConfigMap/x"`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ...findings import Severity
from ...inputs.documents import Document
from ..subjects import PodTemplate, pod_templates
from . import ANY_KIND, REFERENCE, Bundle, CheckFunction, Problem, Subject, rule
from ._access import containers, dig, env_entries, integer, mapping, sequence, shell_words, text
from ._network import ingress_backends, same_namespace, select, services_by_name
from ._ray import (
    EXTERNAL_ANNOTATION,
    RAY_KINDS,
    WORKLOAD_KINDS,
    ClusterSpec,
    Path,
    cluster_spec,
    document_view,
    is_external,
    job_cluster,
    job_spec,
    parse_image,
)
from .rayservice import serve_apps

POD_KINDS = (*RAY_KINDS, *WORKLOAD_KINDS)
CERT_MANAGER_ANNOTATIONS = ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer")


def _reference_rule(
    id: str, kinds: tuple[str, ...], subject: Subject = Subject.DOCUMENT
) -> Callable[[CheckFunction], CheckFunction]:
    return rule(id, kinds=kinds, category=REFERENCE, subject=subject)


# --- Services and their pods ---------------------------------------------------------------


@_reference_rule("service-selects-nothing", kinds=("Service",))
def service_selects_nothing(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A Service's selector matches pods of the bundle, counting the labels KubeRay puts on Ray pods.

    Why: the API server accepts a Service whose selector matches no pod, and the Service simply has no endpoints:
    clients time out and nothing says why. KubeRay labels Ray pods with ray.io/cluster, ray.io/node-type and
    ray.io/group, and those labels count as matches.

    Fails:
        kind: Service
        spec:
          selector: {ray.io/cluster: other, ray.io/node-type: head}   # no RayCluster named other
          ports: [{port: 8265}]

    Instead:
        kind: Service
        spec:
          selector: {ray.io/cluster: rc, ray.io/node-type: head}
          ports: [{port: 8265}]
    """
    selector = mapping(document.spec.get("selector"))
    if not selector or document.spec.get("type") == "ExternalName":
        return
    if any(same_namespace(pod.document, document) for pod in select(bundle, "pods", selector)):
        return
    shown = ", ".join(f"{k}={v}" for k, v in selector.items())
    yield Problem(
        ("spec", "selector"),
        f"selector {shown} matches no pod in this bundle; use labels KubeRay sets (ray.io/cluster, ray.io/node-type, ray.io/group) or the template's labels",
        missing=True,
    )


@_reference_rule("service-target-port", kinds=("Service",))
def service_target_port(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A Service's named targetPort is a port name the selected containers declare.

    Why: Kubernetes resolves a named targetPort against the pods' declared ports and leaves the
    Service without endpoints when none matches. A numeric (or defaulted) targetPort needs no
    declaration: containers listen on ports they do not declare, and Ray pods listen on the
    rayStartParams `*-port` values and Ray's fixed ports.

    Fails:
        spec:
          selector: {ray.io/node-type: head}
          ports: [{port: 80, targetPort: dashbord}]

    Instead:
        spec:
          selector: {ray.io/node-type: head}
          ports: [{port: 80, targetPort: 8265}]
    """
    selector = mapping(document.spec.get("selector"))
    if not selector:
        return
    pods = [p for p in select(bundle, "pods", selector) if same_namespace(p.document, document)]
    if not pods:
        return
    for index, port in enumerate(sequence(document.spec.get("ports"))):
        port = mapping(port)
        target = port.get("targetPort", port.get("port"))
        named = isinstance(target, str) and not target.isdigit()
        if named and not any(target in pod.port_names for pod in pods):
            known = sorted({n for pod in pods for n in pod.port_names})
            yield Problem(
                ("spec", "ports", index, "targetPort"),
                f"targetPort {target!r} is not a port name of the selected pods ({', '.join(known) or 'none'}); use one of them",
            )


@_reference_rule("ingress-backend", kinds=("Ingress",))
def ingress_backend(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """An Ingress backend names a Service and port of the bundle, counting <cluster>-head-svc and <rayservice>-serve-svc.

    Why: an Ingress whose backend Service or port does not exist is accepted, and the controller answers 503 for
    that path. KubeRay creates <cluster>-head-svc for each RayCluster and <rayservice>-serve-svc for each RayService,
    so those names count as present; <cluster>-head does not exist.

    Fails:
        backend:
          service:
            name: rc-head
            port: {name: dashboard}

    Instead:
        backend:
          service:
            name: rc-head-svc
            port: {name: dashboard}
    """
    for path, backend in ingress_backends(document):
        name = text(backend.get("name"))
        if not name or is_external(document, "Service", name) or ("Service", name) in bundle.external:
            continue
        matches = [s for s in services_by_name(bundle).get(name, []) if same_namespace(s.document, document)]
        if not matches:
            known = ", ".join(sorted(services_by_name(bundle))[:12]) or "none"
            yield Problem(
                (*path, "name"),
                f"backend Service {name!r} is not in this bundle (Services: {known}); fix the name or declare it in {EXTERNAL_ANNOTATION} or the config's external list",
                missing=True,
            )
            continue
        wanted_name, wanted_number = dig(backend, "port", "name"), dig(backend, "port", "number")
        ports = matches[0].ports
        if wanted_name is not None and not any(p.get("name") == wanted_name for p in ports):
            yield Problem(
                (*path, "port", "name"),
                f"Service {name!r} has no port named {wanted_name!r} ({', '.join(text(p.get('name')) for p in ports)}); use one of them",
            )
        if wanted_number is not None and not any(integer(p.get("port")) == integer(wanted_number) for p in ports):
            yield Problem(
                (*path, "port", "number"),
                f"Service {name!r} has no port {wanted_number} ({', '.join(str(p.get('port')) for p in ports)}); use one of them",
            )


def _namespaces_watched(document: Document) -> set[str] | None:
    """Namespaces a monitor looks in; None for any."""
    selector = mapping(document.spec.get("namespaceSelector"))
    if selector.get("any") is True:
        return None
    names = {text(n) for n in sequence(selector.get("matchNames")) if text(n)}
    return names or ({document.namespace} if document.namespace else None)


def _in_watched(document: Document, watched: set[str] | None) -> bool:
    return watched is None or not document.namespace or document.namespace in watched


@_reference_rule("servicemonitor-target", kinds=("ServiceMonitor",))
def servicemonitor_target(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A ServiceMonitor selects a Service of the bundle (KubeRay's head Services count) and its endpoint ports exist there.

    Why: Prometheus Operator turns a ServiceMonitor into scrape targets only for Services its selector matches in the
    watched namespaces and for endpoint ports those Services name; otherwise there is no target and no error,
    just no metrics.

    Fails:
        kind: ServiceMonitor
        spec:
          selector: {matchLabels: {ray.io/node-type: head}}
          endpoints: [{port: as-metrics}]

    Instead:
        kind: ServiceMonitor
        spec:
          selector: {matchLabels: {ray.io/node-type: head}}
          endpoints: [{port: metrics}]
    """
    selector = mapping(document.spec.get("selector"))
    watched = _namespaces_watched(document)
    services = [s for s in select(bundle, "services", selector) if _in_watched(s.document, watched)]
    if not services:
        yield Problem(
            ("spec", "selector"),
            "the selector matches no Service in the watched namespaces of this bundle; match labels such as ray.io/node-type: head",
            missing=True,
        )
        return
    names = {text(p.get("name")) for s in services for p in s.ports}
    for index, endpoint in enumerate(sequence(document.spec.get("endpoints"))):
        port = mapping(endpoint).get("port")
        if isinstance(port, str) and port not in names:
            yield Problem(
                ("spec", "endpoints", index, "port"),
                f"no selected Service has a port named {port!r} ({', '.join(sorted(names))}); use one of them",
            )


@_reference_rule("podmonitor-target", kinds=("PodMonitor",))
def podmonitor_target(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A PodMonitor selects pods of the bundle (Ray pods carry KubeRay's labels) and its ports are named on them.

    Why: a PodMonitor whose selector matches no pod, or whose port names no container port, gives Prometheus no
    target and reports nothing. Ray pods carry KubeRay's labels (ray.io/node-type: head or worker), so a selector
    for workers needs a worker group.

    Fails:
        kind: PodMonitor
        spec:
          selector: {matchLabels: {ray.io/node-type: worker}}   # the cluster has no worker group
          podMetricsEndpoints: [{port: metrics}]

    Instead:
        kind: PodMonitor
        spec:
          selector: {matchLabels: {ray.io/node-type: worker}}   # and workerGroupSpecs has a group
          podMetricsEndpoints: [{port: metrics}]
    """
    selector = mapping(document.spec.get("selector"))
    watched = _namespaces_watched(document)
    pods = [p for p in select(bundle, "pods", selector) if _in_watched(p.document, watched)]
    if not pods:
        yield Problem(
            ("spec", "selector"),
            "the selector matches no pod in the watched namespaces of this bundle; match labels such as ray.io/node-type: worker",
            missing=True,
        )
        return
    names = {n for p in pods for n in p.port_names}
    for index, endpoint in enumerate(sequence(document.spec.get("podMetricsEndpoints"))):
        port = mapping(endpoint).get("port")
        if isinstance(port, str) and port not in names:
            yield Problem(
                ("spec", "podMetricsEndpoints", index, "port"),
                f"no selected pod has a port named {port!r} ({', '.join(sorted(names))}); declare it on the container or use one of these",
            )


# --- ConfigMaps and Secrets ------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectReference:
    kind: str  # ConfigMap or Secret
    name: str
    keys: tuple[str, ...]  # the keys used (a volume's items, an env key ref); () for the whole object
    path: Path
    optional: bool
    pull_secret: bool = False  # an imagePullSecrets entry: a missing one is at most a warning


def _keys(key: object) -> tuple[str, ...]:
    return (key,) if isinstance(key, str) and key else ()


def _item_keys(source: dict[str, Any]) -> tuple[str, ...]:
    """The keys a volume projects through `items` (in order, once each); () when it projects them all."""
    return tuple(dict.fromkeys(k for i in sequence(source.get("items")) if (k := text(mapping(i).get("key")))))


def _env_references(container: dict[str, Any], base: Path) -> Iterator[ObjectReference]:
    for index, entry in env_entries(container):
        source = mapping(entry.get("valueFrom"))
        for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = source.get(field)
            if isinstance(ref, dict) and text(ref.get("name")):
                yield ObjectReference(
                    kind,
                    ref["name"],
                    _keys(ref.get("key")),
                    (*base, "env", index, "valueFrom", field, "name"),
                    ref.get("optional") is True,
                )
    for index, entry in env_entries(container, "envFrom"):
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = entry.get(field)
            if isinstance(ref, dict) and text(ref.get("name")):
                yield ObjectReference(
                    kind, ref["name"], (), (*base, "envFrom", index, field, "name"), ref.get("optional") is True
                )


def _pod_references(spec: dict[str, Any], base: Path) -> Iterator[ObjectReference]:
    for index, volume in enumerate(sequence(spec.get("volumes"))):
        volume = mapping(volume)
        here = (*base, "volumes", index)
        config_map, secret = mapping(volume.get("configMap")), mapping(volume.get("secret"))
        if text(config_map.get("name")):
            yield ObjectReference(
                "ConfigMap",
                config_map["name"],
                _item_keys(config_map),
                (*here, "configMap", "name"),
                config_map.get("optional") is True,
            )
        if text(secret.get("secretName")):
            yield ObjectReference(
                "Secret",
                secret["secretName"],
                _item_keys(secret),
                (*here, "secret", "secretName"),
                secret.get("optional") is True,
            )
        for s, source in enumerate(sequence(dig(volume, "projected", "sources"))):
            for field, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                ref = mapping(mapping(source).get(field))
                if text(ref.get("name")):
                    yield ObjectReference(
                        kind,
                        ref["name"],
                        _item_keys(ref),
                        (*here, "projected", "sources", s, field, "name"),
                        ref.get("optional") is True,
                    )
    for field in ("initContainers", "containers"):
        for index, container in containers(spec, field):
            yield from _env_references(container, (*base, field, index))
    for index, secret in enumerate(sequence(spec.get("imagePullSecrets"))):
        if text(mapping(secret).get("name")):
            yield ObjectReference(
                "Secret", secret["name"], (), (*base, "imagePullSecrets", index, "name"), False, pull_secret=True
            )


def object_references(document: Document) -> Iterator[ObjectReference]:
    """Every ConfigMap and Secret a document needs at run time."""
    for template in pod_templates(document):
        yield from _pod_references(template.spec, template.path)
    cluster = cluster_spec(document)
    if cluster is not None:
        secret_name = text(dig(cluster.spec, "authOptions", "secretName"))
        if secret_name and cluster.token_auth:
            yield ObjectReference("Secret", secret_name, (), (*cluster.path, "authOptions", "secretName"), False)
        for field in ("redisPassword", "redisUsername"):
            source = mapping(dig(cluster.spec, "gcsFaultToleranceOptions", field, "valueFrom"))
            for ref_field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = mapping(source.get(ref_field))
                if text(ref.get("name")):
                    yield ObjectReference(
                        kind,
                        ref["name"],
                        _keys(ref.get("key")),
                        (*cluster.path, "gcsFaultToleranceOptions", field, "valueFrom", ref_field, "name"),
                        ref.get("optional") is True,
                    )
        yield from _env_references(cluster.autoscaler_options, (*cluster.path, "autoscalerOptions"))
    if document.kind == "Ingress" and not any(a in document.annotations for a in CERT_MANAGER_ANNOTATIONS):
        for index, tls in enumerate(sequence(document.spec.get("tls"))):
            if text(mapping(tls).get("secretName")):
                yield ObjectReference("Secret", tls["secretName"], (), ("spec", "tls", index, "secretName"), False)


def _object_keys(document: Document) -> set[str]:
    fields = ("data", "binaryData") if document.kind == "ConfigMap" else ("data", "stringData")
    keys: set[str] = set()
    for field in fields:
        keys.update(str(k) for k in mapping(document.body.get(field)))
    return keys


def _hashed_twin(kind: str, name: str, namespace_of: Document, bundle: Bundle) -> str | None:
    """A bundle object called `<name>-<10 chars>`: kustomize added its hash suffix but did not rewrite this reference."""

    def by_base_name() -> dict[str, list[Document]]:
        index: dict[str, list[Document]] = {}
        for other in bundle.of_kind(kind):
            match = re.fullmatch(r"(.+)-[a-z0-9]{10}", other.name)
            if match:
                index.setdefault(match.group(1), []).append(other)
        return index

    for other in bundle.memo(("hashed", kind), by_base_name).get(name, []):
        if same_namespace(other, namespace_of):
            return other.name
    return None


# Objects Kubernetes itself keeps in every namespace: the root CA publisher of kube-controller-manager
# writes ConfigMap kube-root-ca.crt (key ca.crt), which ServiceAccount token volumes project.
IN_EVERY_NAMESPACE = {("ConfigMap", "kube-root-ca.crt")}


def _check_references(document: Document, bundle: Bundle, kind: str) -> Iterator[Problem]:
    # Read once for the ConfigMap and the Secret rule alike.
    references = document_view(document, "object_references", lambda d: tuple(object_references(d)))
    for reference in references:
        if reference.kind != kind or is_external(document, kind, reference.name):
            continue
        if (kind, reference.name) in bundle.external:
            continue
        if (kind, reference.name) in IN_EVERY_NAMESPACE:
            continue
        target = bundle.find(kind, reference.name, document.namespace)
        if target is None:
            if reference.optional:
                continue
            twin = _hashed_twin(kind, reference.name, document, bundle)
            if twin:
                yield Problem(
                    reference.path,
                    f"{kind} {reference.name!r} is in the bundle only as {twin!r}: kustomize does not rewrite names in {document.kind}; set generatorOptions.disableNameSuffixHash: true or add a nameReference configuration",
                )
            else:
                pull = " (an image pull secret: pulls from a private registry fail without it)"
                yield Problem(
                    reference.path,
                    f"{kind} {reference.name!r} is not in this bundle{pull if reference.pull_secret else ''}; "
                    f"add it, or {_declare_external(kind, reference.name)}",
                    missing=True,
                    severity=Severity.WARNING if reference.pull_secret else None,
                )
            continue
        if reference.keys and not reference.optional:
            keys = _object_keys(target)
            absent = [k for k in reference.keys if k not in keys]
            if absent:
                named = ", ".join(repr(k) for k in absent)
                yield Problem(
                    reference.path,
                    f"{kind} {reference.name!r} has no key {named} ({', '.join(sorted(keys)) or 'no keys'}); fix the key",
                )


def _declare_external(kind: str, name: str) -> str:
    return (
        "declare that it exists outside the repository "
        f'(external: [{kind}/{name}] in .raygitops.yaml, or annotation {EXTERNAL_ANNOTATION}: "{kind}/{name}")'
    )


@_reference_rule("configmap-reference", kinds=(*POD_KINDS,))
def configmap_reference(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """ConfigMaps used by volumes and env exist in the bundle with the keys used, or are declared external.

    Why: a pod whose ConfigMap (or key) is missing never starts (ContainerCreating or CreateContainerConfigError);
    for a Ray pod that shows only once the operator creates it. Kustomize's generators add a hash suffix to the
    name and rewrite references in built-in kinds, but not inside a RayCluster, so the Ray pod asks for the
    unhashed name.

    Fails:
        # configMapGenerator makes ConfigMap code-5t9f2kc8bm; the RayCluster still says:
        volumes:
          - name: code
            configMap: {name: code}

    Instead:
        # generatorOptions: {disableNameSuffixHash: true} in the kustomization, so the ConfigMap is named code:
        volumes:
          - name: code
            configMap: {name: code}
    """
    yield from _check_references(document, bundle, "ConfigMap")


@_reference_rule("secret-reference", kinds=(*POD_KINDS, "Ingress"))
def secret_reference(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Secrets used by volumes, env, authOptions, Redis passwords and Ingress TLS exist in the bundle or are declared external.

    Why: a pod that needs a missing Secret (a volume, env, the token named by authOptions.secretName, a Redis password)
    never starts, and an Ingress without its TLS Secret serves the controller's default certificate. A Secret made by
    hand outside Git is declared external so the check knows it exists.

    Fails:
        kind: RayCluster
        spec:
          authOptions: {mode: token, secretName: ray-token}   # no Secret ray-token in the bundle

    Instead:
        kind: RayCluster
        metadata:
          annotations: {raygitops.io/external: Secret/ray-token}
        spec:
          authOptions: {mode: token, secretName: ray-token}
    """
    yield from _check_references(document, bundle, "Secret")


def _named_references(template: PodTemplate, kind: str) -> Iterator[tuple[Path, str]]:
    """(path, name) of each PersistentVolumeClaim or ServiceAccount a pod template uses."""
    if kind == "ServiceAccount":
        name = text(template.spec.get("serviceAccountName"))
        if name and name != "default":  # every namespace has its default ServiceAccount
            yield (*template.path, "serviceAccountName"), name
        return
    for index, volume in enumerate(sequence(template.spec.get("volumes"))):
        name = text(dig(volume, "persistentVolumeClaim", "claimName"))
        if name:
            yield (*template.path, "volumes", index, "persistentVolumeClaim", "claimName"), name


def _check_named(template: PodTemplate, bundle: Bundle, kind: str) -> Iterator[Problem]:
    document = template.document
    for path, name in _named_references(template, kind):
        if is_external(document, kind, name) or (kind, name) in bundle.external:
            continue
        if bundle.find(kind, name, document.namespace):
            continue
        yield Problem(
            path, f"{kind} {name!r} is not in this bundle; add it, or {_declare_external(kind, name)}", missing=True
        )


@_reference_rule("pvc-reference", kinds=(*POD_KINDS,), subject=Subject.POD_TEMPLATE)
def pvc_reference(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """PersistentVolumeClaims used by pod volumes exist in the bundle or are declared external.

    Why: a pod whose claim does not exist stays Pending with no error at apply time; for a Ray head
    that is a cluster that never starts. In a file given alone the claim may exist already: a warning.

    Fails:
        volumes:
        - name: models
          persistentVolumeClaim: {claimName: model-store}   # no such PVC in the bundle

    Instead:
        # a PersistentVolumeClaim named model-store in the bundle, or in .raygitops.yaml:
        external: [PersistentVolumeClaim/model-store]
    """
    yield from _check_named(template, bundle, "PersistentVolumeClaim")


@_reference_rule("serviceaccount-reference", kinds=(*POD_KINDS,), subject=Subject.POD_TEMPLATE)
def serviceaccount_reference(template: PodTemplate, bundle: Bundle) -> Iterator[Problem]:
    """A pod's serviceAccountName (other than default) names a ServiceAccount of the bundle or one declared external.

    Why: the API server accepts the pod template, but the pods are never created while the
    ServiceAccount is missing (the controller's events say so, nothing else does).

    Fails:
        template:
          spec:
            serviceAccountName: ray-head-sa   # no such ServiceAccount in the bundle

    Instead:
        # a ServiceAccount named ray-head-sa in the bundle, or in .raygitops.yaml:
        external: [ServiceAccount/ray-head-sa]
    """
    yield from _check_named(template, bundle, "ServiceAccount")


@rule("external-annotation", kinds=(ANY_KIND,), category=REFERENCE)
def external_annotation(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """The raygitops.io/external annotation lists Kind/name entries separated by commas.

    Why: raygitops.io/external tells the reference checks which objects exist outside the repository; an entry that
    is not Kind/name declares nothing, so the references it was meant to cover are still reported as missing.

    Fails:
        metadata:
          annotations: {raygitops.io/external: 'Secret/a, b'}

    Instead:
        metadata:
          annotations: {raygitops.io/external: 'Secret/a, ConfigMap/b'}
    """
    value = document.annotations.get(EXTERNAL_ANNOTATION)
    if value is None:
        return
    for entry in re.split(r"[,;\n]", str(value)):
        entry = entry.strip()
        if not entry:
            continue
        kind, slash, name = entry.partition("/")
        if not slash or not kind.strip() or not name.strip() or not kind.strip()[0].isupper():
            yield Problem(
                ("metadata", "annotations", EXTERNAL_ANNOTATION),
                f'entry {entry!r} is not Kind/name; write e.g. "Secret/ray-token, ConfigMap/settings"',
            )


# --- code the cluster runs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    mount_path: str
    config_map: str | None  # the ConfigMap behind the volume, if it is one
    items: dict[str, str] | None  # key -> file name when the volume lists items
    sub_path: str


def _mounts(container: dict[str, Any], pod_spec: dict[str, Any]) -> list[Mount]:
    volumes = {text(mapping(v).get("name")): mapping(v) for v in sequence(pod_spec.get("volumes"))}
    mounts: list[Mount] = []
    for entry in sequence(container.get("volumeMounts")):
        entry = mapping(entry)
        volume = volumes.get(text(entry.get("name")), {})
        config_map = mapping(volume.get("configMap"))
        items = None
        if sequence(config_map.get("items")):
            items = {
                text(mapping(i).get("path")): text(mapping(i).get("key")) for i in sequence(config_map.get("items"))
            }
        mounts.append(
            Mount(
                posixpath.normpath(text(entry.get("mountPath")) or "/"),
                text(config_map.get("name")) or None,
                items,
                text(entry.get("subPath")),
            )
        )
    return mounts


def _mount_for(path: str, mounts: list[Mount]) -> tuple[Mount, str] | None:
    """The mount that holds `path` and the file name inside it."""
    best: tuple[Mount, str] | None = None
    for mount in mounts:
        if mount.sub_path and mount.mount_path == path:
            return mount, mount.sub_path
        if posixpath.dirname(path) == mount.mount_path and not mount.sub_path:
            best = (mount, posixpath.basename(path))
        elif path.startswith(mount.mount_path.rstrip("/") + "/") and best is None and not mount.sub_path:
            best = (mount, path[len(mount.mount_path.rstrip("/")) + 1 :])
    return best


def _config_map_has(mount: Mount, file: str, document: Document, bundle: Bundle) -> str | None:
    """None when the mounted ConfigMap provides `file`, else why not."""
    if mount.items is not None:
        key = mount.items.get(file)
        if key is None:
            return f"the volume's items do not project a file {file!r}"
    else:
        key = file
    if "/" in key:
        return f"ConfigMap volumes are flat, so {file!r} cannot be in {mount.mount_path}"
    if mount.config_map is None or is_external(document, "ConfigMap", mount.config_map):
        return None
    target = bundle.find("ConfigMap", mount.config_map, document.namespace)
    if target is None:
        return None  # the configmap-reference rule reports the missing ConfigMap
    keys = _object_keys(target) or set()
    if key not in keys:
        return f"ConfigMap {mount.config_map!r} has no key {key!r} ({', '.join(sorted(keys)) or 'no keys'})"
    return None


def entrypoint_script(entrypoint: str) -> str | None:
    """The Python script an entrypoint runs (`python /home/ray/app/train.py --x`), if it names one."""
    tokens = shell_words(entrypoint)
    if tokens is None:
        return None
    for position, token in enumerate(tokens):
        if posixpath.basename(token).startswith("python") and position + 1 < len(tokens):
            candidate = tokens[position + 1]
            return candidate if candidate.endswith(".py") else None
    return None


@_reference_rule("rayjob-entrypoint-script", kinds=("RayJob", "RayCronJob"))
def rayjob_entrypoint_script(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A RayJob's `python /path/script.py` is mounted on the head (a ConfigMap key at that path) or is in a custom image.

    Why: the RayJob's entrypoint runs on the head; if the script is neither mounted there (a ConfigMap key at that
    path) nor in a custom image, the cluster starts, the job fails with "No such file" and the RayJob is Failed,
    after the whole cluster was paid for. A mounted ConfigMap of the bundle without the key is an error; a script
    on a stock Ray image that nothing mounts is a warning (KubeRay accepts the RayJob).

    Fails:
        entrypoint: python /home/ray/code/tune.py
        # the head mounts ConfigMap code at /home/ray/code, and it has keys train.py and app.py

    Instead:
        entrypoint: python /home/ray/code/train.py
    """
    found = job_spec(document)
    if found is None:
        return
    job, path = found
    cluster = job_cluster(document, job, bundle)
    if cluster is None:
        return
    script = entrypoint_script(text(job.get("entrypoint")))
    if script is None or not script.startswith("/"):
        return  # relative scripts come from runtimeEnv working_dir, which Ray uploads
    head = cluster.head.ray_container
    if head is None:
        return
    located = _mount_for(posixpath.normpath(script), _mounts(head, cluster.head.pod_spec))
    if located is None:
        image = parse_image(text(head.get("image")))
        if image.is_ray_image:
            yield Problem(
                (*path, "entrypoint"),
                f"script {script} is not mounted on the head and {image.repository} does not contain it; mount a ConfigMap at {posixpath.dirname(script)} with key {posixpath.basename(script)}",
                # A warning: KubeRay accepts the RayJob, and something this rule cannot see (an init
                # container writing into the image's filesystem, a wrapper) may still provide the file.
                severity=Severity.WARNING,
            )
        return
    mount, file = located
    if mount.config_map is None:
        return
    problem = _config_map_has(mount, file, cluster.document, bundle)
    if problem:
        yield Problem(
            (*path, "entrypoint"), f"script {script}: {problem}; add the script to the ConfigMap or fix the path"
        )


def _code_dirs(container: dict[str, Any]) -> list[str]:
    for _, entry in env_entries(container):
        if entry.get("name") == "PYTHONPATH":
            return [posixpath.normpath(p) for p in text(entry.get("value")).split(":") if p.startswith("/")]
    return []


@_reference_rule("serve-import-module", kinds=("RayService",), subject=Subject.RAY_CLUSTER)
def serve_import_module(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A Serve import_path module loaded from a mounted ConfigMap (via PYTHONPATH or working_dir) is a key of it, on every group.

    Why: Serve imports each application's module on the head and on every worker that runs its replicas; when the
    code comes from a ConfigMap on PYTHONPATH or working_dir, a module that is not a key of it, or a ConfigMap
    mounted on the head only, makes the deployment fail with ModuleNotFoundError and the RayService never becomes
    ready.

    Fails:
        applications:
          - name: app
            import_path: model:deployment   # the mounted ConfigMap code has no model.py

    Instead:
        applications:
          - name: app
            import_path: app:deployment     # app.py is a key of ConfigMap code
    """
    for app in serve_apps(cluster.document):
        module = app.module
        if not module:
            continue
        file = module.split(".")[0] + ".py"
        working_dir = text(mapping(app.body.get("runtime_env")).get("working_dir"))
        for group in cluster.groups:
            container = group.ray_container
            if container is None:
                continue
            mounts = _mounts(container, group.pod_spec)
            dirs = list(_code_dirs(container))
            if working_dir.startswith("/"):
                dirs.append(posixpath.normpath(working_dir))
            config_dirs = [m for m in mounts if m.config_map and m.mount_path in dirs]
            if not config_dirs:
                head_dirs = [
                    m.mount_path
                    for m in _mounts(cluster.head.ray_container or {}, cluster.head.pod_spec)
                    if m.config_map
                ]
                if not group.is_head and any(d in head_dirs for d in dirs):
                    yield Problem(
                        (*group.pod_path, "volumes"),
                        f"application {app.name!r} loads its code from a ConfigMap mounted on the head only; mount it on {group.label} too (replicas run there)",
                    )
                continue
            reasons = [_config_map_has(m, file, cluster.document, bundle) for m in config_dirs]
            if all(reasons):
                yield Problem(
                    (*group.ray_container_path, "volumeMounts"),
                    f"application {app.name!r} imports {module!r}, but {reasons[0]}; add {file} to the ConfigMap or fix import_path",
                )


# --- Argo CD -----------------------------------------------------------------------------------

REPLICAS_PATH = ".spec.workerGroupSpecs[].replicas"


def _ignores_replicas(spec: dict[str, Any]) -> bool:
    for entry in sequence(spec.get("ignoreDifferences")):
        entry = mapping(entry)
        if entry.get("kind") not in ("RayCluster", None) or entry.get("group") not in ("ray.io", None):
            continue
        expressions = [text(e) for e in sequence(entry.get("jqPathExpressions"))]
        pointers = [text(p) for p in sequence(entry.get("jsonPointers"))]
        if any("workerGroupSpecs" in e and "replicas" in e for e in expressions) or any(
            p.startswith("/spec/workerGroupSpecs") for p in pointers
        ):
            return True
    return False


@_reference_rule("argocd-ray-replicas-ignored", kinds=("Application", "ApplicationSet"))
def argocd_replicas_ignored(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Argo CD apps that deploy autoscaled RayClusters ignore .spec.workerGroupSpecs[].replicas in the diff.

    Why: the Ray autoscaler writes each worker group's replicas; without the ignore the Application
    is OutOfSync after every scale-up and self-heal reverts it. Ignore it in the diff only:
    RespectIgnoreDifferences=true would stop every Git change inside the worker groups from being
    applied (reported by argocd-respect-ignore-in-array).

    Fails:
        spec:
          source: {path: overlays/prod}
          syncPolicy: {automated: {selfHeal: true}}

    Instead:
        spec:
          source: {path: overlays/prod}
          ignoreDifferences:
            - {group: ray.io, kind: RayCluster, jqPathExpressions: [".spec.workerGroupSpecs[].replicas"]}
          syncPolicy: {automated: {selfHeal: true}, syncOptions: [ApplyOutOfSyncOnly=true]}
    """
    spec = mapping(dig(document.spec, "template", "spec")) if document.kind == "ApplicationSet" else document.spec
    base = ("spec", "template", "spec") if document.kind == "ApplicationSet" else ("spec",)
    sources = [mapping(spec.get("source"))] + [mapping(s) for s in sequence(spec.get("sources"))]
    deploys_overlay = any(
        text(s.get("path")).startswith(("overlays", "{{")) or "overlays/" in text(s.get("path")) for s in sources
    )
    autoscaled = any(dig(c.body, "spec", "enableInTreeAutoscaling") is True for c in bundle.of_kind("RayCluster"))
    if not deploys_overlay and not autoscaled:
        return
    if not _ignores_replicas(spec):
        yield Problem(
            (*base, "ignoreDifferences"),
            f"without ignoreDifferences on RayCluster {REPLICAS_PATH}, Argo CD reverts the autoscaler; add {{group: ray.io, kind: RayCluster, jqPathExpressions: ['{REPLICAS_PATH}']}}",
        )
