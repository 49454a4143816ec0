"""Native validation of built-in kinds: what the API server rejects that no OpenAPI schema says.

The OpenAPI schema of a Service says `port` is an int32, so a port of 70000
passes it; the API server's Go validation rejects it. This module re-states the
checks users hit most, from k8s.io/kubernetes pkg/apis/{core,apps,batch,
networking}/validation: port ranges and names, Ingress paths and backends,
resource quantities, extended resources (nvidia.com/gpu) whose request must
equal their limit, probes, volume mounts, workload selectors.

Every check is defensive: it runs after schema validation reported type
errors, so any value here may still be of any type; a value of the wrong type
is skipped (the schema stage already said so), never a traceback.

The pod checks run on every pod template of checks/subjects.py, so a Ray pod
(a RayCluster's groups, a RayJob's submitter, a RayService's or RayCronJob's
cluster) gets exactly the checks a Deployment's pod gets, with paths into the
Ray resource: the API server checks those pods only when the operator creates
them, minutes after the apply, as a FailedCreate event.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from decimal import Decimal
from typing import Any

from ...findings import Finding, Severity, field_name
from ...inputs.documents import Document
from ...schema import formats as fmt
from ..ray._access import dig
from ..registry import NATIVE, Subject, check, declare
from ..subjects import PodTemplate, pod_templates, workload_pod_spec_path
from .identity import describe_value, labels_problems

Path = tuple[str | int, ...]
Problem = tuple[Path, str, str]  # (path parts, rule id, message)

declare(
    "service-port",
    """Service port out of 1..65535, bad targetPort, port names missing, invalid or duplicated

    Why: the Service schema says an int32, but the API server only accepts ports 1..65535, a valid
    targetPort, and unique names on every port once there are several.

    Fails:
        ports:
        - {port: 70000}

    Instead:
        ports:
        - {name: serve, port: 8000, targetPort: 8000}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "service-node-port",
    """Service nodePort outside the default NodePort range 30000-32767 (warning: the range is configurable)

    Why: a nodePort outside 30000-32767 is rejected unless the cluster's --service-node-port-range allows it (a
    warning: that range is configurable).

    Fails:
        ports:
        - {port: 8265, nodePort: 8265}

    Instead:
        ports:
        - {port: 8265, nodePort: 30265}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
    severity=Severity.WARNING,
)
declare(
    "service-spec",
    """Service without ports (unless headless or ExternalName), ExternalName without a valid externalName

    Why: a Service needs ports unless it is headless or an ExternalName, and an ExternalName Service needs a valid
    DNS name; the API server rejects others.

    Fails:
        spec: {type: ClusterIP, selector: {app: ray}}

    Instead:
        spec: {type: ClusterIP, selector: {app: ray}, ports: [{port: 8265}]}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "container-name",
    """container name missing, not a DNS-1123 label, or duplicated in the pod

    Why: the API server rejects a pod whose containers lack a name, use one that is not a DNS-1123
    label, or repeat one across containers and initContainers; for a Ray pod that happens only when
    KubeRay creates it, as a FailedCreate event.

    Fails:
        containers:
        - {name: ray_head, image: rayproject/ray:2.60.0}

    Instead:
        containers:
        - {name: ray-head, image: rayproject/ray:2.60.0}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "container-image",
    """container image missing or with surrounding whitespace

    Why: a pod without an image, or with spaces around it, is rejected at creation; the kubelet
    cannot pull a name with whitespace.

    Fails:
        containers:
        - {name: ray-head, image: ' rayproject/ray:2.60.0'}

    Instead:
        containers:
        - {name: ray-head, image: rayproject/ray:2.60.0}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "container-port",
    """containerPort out of 1..65535, hostPort out of 0..65535, port names not IANA service names or duplicated

    Why: the API server rejects containerPort outside 1..65535, hostPort outside 0..65535, and port
    names that are not IANA service names (at most 15 characters, a letter) or that repeat in the pod.

    Fails:
        ports:
        - {name: dashboard-http-port, containerPort: 70000}

    Instead:
        ports:
        - {name: dashboard, containerPort: 8265}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "pod-containers",
    """pod spec without containers

    Why: a pod needs at least one container; an empty list is rejected when the pod is created.

    Fails:
        template:
          spec: {containers: []}

    Instead:
        template:
          spec: {containers: [{name: ray-worker, image: rayproject/ray:2.60.0}]}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "pod-volume",
    """volume name missing, not a DNS-1123 label, or duplicated

    Why: volume names are DNS-1123 labels, unique in the pod; a mount refers to them by name.

    Fails:
        volumes:
        - {name: Data, emptyDir: {}}
        - {name: Data, emptyDir: {}}

    Instead:
        volumes:
        - {name: data, emptyDir: {}}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "volume-mount",
    """volumeMount naming no volume of the pod, without a mountPath, or mounting two things at one path

    Why: a volumeMount must name a volume of the same pod and have a mountPath, and two mounts may not
    share a path; otherwise the pod is rejected, for a Ray pod minutes after the apply.

    Fails:
        containers:
        - name: ray-head
          volumeMounts: [{name: logs, mountPath: /tmp/ray}]
        # no volume named logs

    Instead:
        containers:
        - name: ray-head
          volumeMounts: [{name: logs, mountPath: /tmp/ray}]
        volumes:
        - {name: logs, emptyDir: {}}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "probe",
    """probe with no or several handlers, a bad port, or a successThreshold other than 1 on liveness/startup

    Why: a probe needs exactly one handler (exec, httpGet, tcpSocket or grpc) with a valid port, and
    liveness and startup probes only allow successThreshold 1; the API server rejects anything else.

    Fails:
        readinessProbe: {periodSeconds: 5}

    Instead:
        readinessProbe:
          httpGet: {path: /-/healthz, port: 8000}
          periodSeconds: 5
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "resource-name",
    """resource name neither standard (cpu, memory, ephemeral-storage, hugepages-*) nor a domain-qualified extended resource

    Why: container resources are cpu, memory, ephemeral-storage, hugepages-* or a domain-qualified
    extended resource such as nvidia.com/gpu; a bare or misspelt name is rejected.

    Fails:
        resources:
          limits: {gpu: 1}

    Instead:
        resources:
          limits: {nvidia.com/gpu: 1}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "resource-quantity",
    """resource request or limit that is not a valid, non-negative quantity

    Why: requests and limits are Kubernetes quantities (500m, 2, 1.5Gi); the API server rejects any
    other text or a negative value.

    Fails:
        resources:
          limits: {cpu: 2 cores, memory: 4GB}

    Instead:
        resources:
          limits: {cpu: "2", memory: 4Gi}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "resource-requests-exceed-limits",
    """a request greater than the limit of the same resource

    Why: a request greater than the limit of the same resource is rejected; Ray sizes itself from
    the limits, so the two must agree.

    Fails:
        resources:
          requests: {memory: 8Gi}
          limits: {memory: 4Gi}

    Instead:
        resources:
          requests: {memory: 4Gi}
          limits: {memory: 4Gi}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "extended-resource",
    """extended resource (e.g. nvidia.com/gpu) without a limit, with a request different from it, or fractional

    Why: an extended resource such as nvidia.com/gpu cannot be overcommitted: it needs a limit, a
    request (if any) equal to it, and a whole number.

    Fails:
        resources:
          requests: {nvidia.com/gpu: 1}
          limits: {nvidia.com/gpu: 2}

    Instead:
        resources:
          limits: {nvidia.com/gpu: 1}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "pod-restart-policy",
    """restartPolicy not allowed for the workload (Deployments need Always, Jobs OnFailure or Never)

    Why: a Deployment, StatefulSet, DaemonSet or ReplicaSet only allows restartPolicy Always, and a
    Job or CronJob OnFailure or Never (the template defaults to Always, which a Job rejects).

    Fails:
        kind: Job
        spec:
          template:
            spec: {containers: [...]}

    Instead:
        kind: Job
        spec:
          template:
            spec: {restartPolicy: Never, containers: [...]}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "workload-selector",
    """workload selector missing or not matching the pod template's labels

    Why: a Deployment's, StatefulSet's, DaemonSet's or ReplicaSet's selector must be non-empty and
    match its pod template's labels; the API server rejects the workload otherwise.

    Fails:
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: website}}

    Instead:
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "ingress-path-type",
    """Ingress path without pathType, or pathType not Exact, Prefix or ImplementationSpecific

    Why: networking.k8s.io/v1 requires pathType, one of Exact, Prefix or ImplementationSpecific (case-sensitive).

    Fails:
        paths:
        - {path: /dashboard, pathType: prefix, backend: ...}

    Instead:
        paths:
        - {path: /dashboard, pathType: Prefix, backend: ...}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "ingress-path",
    """Ingress path not absolute or containing '//', '/./', '/../' for Exact/Prefix, or rule without paths

    Why: Exact and Prefix paths are absolute and may not contain //, /./ or /../; a rule with http needs paths.

    Fails:
        paths:
        - {path: dashboard, pathType: Prefix, backend: ...}

    Instead:
        paths:
        - {path: /dashboard, pathType: Prefix, backend: ...}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "ingress-backend-spec",
    """Ingress backend without exactly one of service/resource, or a service port out of range or badly named

    Why: a backend names exactly one of service or resource, and a service port by number (1..65535) or by name.

    Fails:
        backend:
          service: {name: ray-head-svc, port: {number: 70000}}

    Instead:
        backend:
          service: {name: ray-head-svc, port: {number: 8265}}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "ingress-host",
    """Ingress rule host that is not a lowercase DNS name (a leading '*.' wildcard allowed)

    Why: a host is a lowercase DNS name, optionally with a leading '*.' wildcard; the API server rejects IPs and
    uppercase.

    Fails:
        rules:
        - host: Ray.Example.com

    Instead:
        rules:
        - host: ray.example.com
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "data-too-large",
    """ConfigMap or Secret whose data adds up to more than 1 MiB (the API server's MaxSecretSize)

    Why: the API server adds up the bytes of a ConfigMap's data and binaryData (a Secret's data and stringData,
    base64 decoded) and refuses the object past 1 MiB; the apply fails, and Argo CD keeps retrying the sync.

    Fails:
        kind: ConfigMap
        data:
          model.bin: <a 50 MB string>

    Instead:
        kind: ConfigMap
        data:
          model-uri: s3://models/model.bin  # large files live in a volume, an image or object storage
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)
declare(
    "container-security-context",
    """container securityContext that asks for privileges and forbids their escalation at once

    Why: the API server rejects a container with allowPrivilegeEscalation: false and privileged: true (or
    capabilities.add SYS_ADMIN): a privileged process can always escalate; for a Ray pod that happens only when
    KubeRay creates it, as a FailedCreate event.

    Fails:
        securityContext: {allowPrivilegeEscalation: false, privileged: true}

    Instead:
        securityContext: {allowPrivilegeEscalation: false}
    """,
    category=NATIVE,
    subject=Subject.POD_TEMPLATE,
)
declare(
    "builtin-field",
    """a field of a NetworkPolicy, PodDisruptionBudget, PersistentVolumeClaim, PriorityClass or Namespace the API server rejects

    Why: the API server's Go validation checks what their OpenAPI schemas leave open: policyTypes, preemptionPolicy
    and accessModes take only listed values, a PersistentVolumeClaim needs an access mode, a PodDisruptionBudget's
    minAvailable and maxUnavailable are non-negative (at most 100%), a NetworkPolicy port is a number or a port name,
    and a Namespace's pod-security.kubernetes.io labels name a level (and a version) the PodSecurity admission knows.

    Fails:
        kind: PodDisruptionBudget
        spec: {maxUnavailable: -1, selector: {matchLabels: {ray.io/node-type: worker}}}

    Instead:
        kind: PodDisruptionBudget
        spec: {maxUnavailable: 1, selector: {matchLabels: {ray.io/node-type: worker}}}
    """,
    category=NATIVE,
    subject=Subject.DOCUMENT,
)

# core/validation: the values of a ConfigMap's data and binaryData, or of a Secret's data, in bytes.
MAX_DATA_BYTES = 1024 * 1024

NODE_PORT_RANGE = (30000, 32767)

_STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def check_native(document: Document) -> list[Finding]:
    """Native-validation findings: the kind's own checks (Service, Ingress, workloads), then the
    pod checks on every pod template the document holds, a Ray resource's included."""
    key = (document.group, document.kind)
    problems: list[Problem] = []
    body = document.body
    if key == ("", "Service"):
        problems.extend(service_problems(body.get("spec", {})))
    elif key == ("networking.k8s.io", "Ingress"):
        problems.extend(ingress_problems(body.get("spec", {})))
    elif key in (("", "ConfigMap"), ("", "Secret")):
        problems.extend(_data_size_problems(body, document.kind))
    elif key in _FIELD_CHECKS:
        problems.extend(_FIELD_CHECKS[key](body))
    pod_path = workload_pod_spec_path(document)
    if pod_path is not None:
        problems.extend(_workload_problems(body, key, pod_path))
    for template in pod_templates(document):
        problems.extend(pod_template_problems(template))
    return [document.finding(rule, check(rule).severity, path, message) for path, rule, message in problems]


def pod_template_problems(template: PodTemplate) -> Iterator[Problem]:
    """What the API server rejects in a pod template, wherever it is: the pod spec, and the template's labels."""
    yield from pod_spec_problems(template.spec, template.path, template.operator_volumes)
    metadata = template.metadata
    if template.metadata_path is not None and isinstance(metadata, dict):
        for path, message in labels_problems(metadata.get("labels"), (*template.metadata_path, "labels")):
            yield path, "metadata-label", message


# ---------------------------------------------------------------- workloads


def _workload_problems(body: dict[str, Any], key: tuple[str, str], pod_path: Path) -> Iterator[Problem]:
    """The checks that depend on the workload kind: its pod's restartPolicy, its selector."""
    pod_spec = dig(body, *pod_path)
    group, kind = key
    if isinstance(pod_spec, dict):
        yield from _restart_policy_problems(kind, pod_spec, pod_path)
    template_path = pod_path[:-1]
    if group == "apps":
        yield from _selector_problems(body, template_path)


def _restart_policy_problems(kind: str, pod_spec: dict[str, Any], pod_path: Path) -> Iterator[Problem]:
    policy = pod_spec.get("restartPolicy")
    path = (*pod_path, "restartPolicy")
    if kind in ("Job", "CronJob"):
        if policy is None:
            # The pod template defaults it to Always, which a Job rejects.
            yield (
                path,
                "pod-restart-policy",
                (f"{field_name(path)} is not set (it defaults to Always); a {kind} needs OnFailure or Never"),
            )
        elif policy not in ("OnFailure", "Never"):
            yield (
                path,
                "pod-restart-policy",
                (f"{field_name(path)} is {describe_value(policy)}; a {kind} needs OnFailure or Never"),
            )
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController") and policy not in (
        None,
        "Always",
    ):
        yield (
            path,
            "pod-restart-policy",
            (f"{field_name(path)} is {describe_value(policy)}; a {kind} only allows Always"),
        )


def _selector_problems(body: dict[str, Any], template_path: Path) -> Iterator[Problem]:
    selector = dig(body, "spec", "selector")
    path: Path = ("spec", "selector")
    if not isinstance(selector, dict):  # absent: the schema's `required` reports it
        return
    match_labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    if not match_labels and not expressions:
        yield path, "workload-selector", "spec.selector is empty; it must select the pod template's labels"
        return
    template_labels = dig(body, *template_path, "metadata", "labels")
    labels = template_labels if isinstance(template_labels, dict) else {}
    if isinstance(match_labels, dict):
        for key, value in match_labels.items():
            if labels.get(key) != value:
                found = f"'{labels[key]}'" if key in labels else "absent"
                yield (
                    (*path, "matchLabels", key),
                    "workload-selector",
                    (
                        f"spec.selector.matchLabels['{key}'] is '{value}' but the template label {key} is {found}: "
                        "selector does not match template labels"
                    ),
                )
    if isinstance(expressions, list):
        for index, expression in enumerate(expressions):
            if isinstance(expression, dict) and not _expression_matches(expression, labels):
                yield (
                    (*path, "matchExpressions", index),
                    "workload-selector",
                    (
                        f"spec.selector.matchExpressions[{index}] does not match the template labels: "
                        "selector does not match template labels"
                    ),
                )


def _expression_matches(expression: dict[str, Any], labels: dict[str, Any]) -> bool:
    key: Any = expression.get("key")
    operator, values = expression.get("operator"), expression.get("values") or []
    if not isinstance(values, list):
        return True
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return True  # an unknown operator is the schema's business


# ---------------------------------------------------------------- pod spec


def pod_spec_problems(pod_spec: Any, path: Path, added_volumes: frozenset[str] = frozenset()) -> Iterator[Problem]:
    """Native-validation problems of a PodSpec found at `path`, as (path, rule id, message).

    Usable on any pod template, including those inside Ray custom resources, where `added_volumes`
    are those the operator adds to the pod before it creates it.
    """
    if not isinstance(pod_spec, dict):
        return
    volumes = yield from _volume_problems(pod_spec.get("volumes"), (*path, "volumes"))
    volumes |= added_volumes
    containers = pod_spec.get("containers")
    if containers == []:  # absent: the schema's `required` reports it
        yield (
            (*path, "containers"),
            "pod-containers",
            f"{field_name((*path, 'containers'))} is empty; a pod needs at least one container",
        )
    names: set[str] = set()
    for field in ("initContainers", "containers"):
        items = pod_spec.get(field)
        if not isinstance(items, list):
            continue
        for index, container in enumerate(items):
            if isinstance(container, dict):
                yield from _container_problems(container, (*path, field, index), names, volumes, field == "containers")


def _volume_problems(volumes: Any, path: Path) -> Generator[Problem, None, set[str]]:
    """Checks volume names; returns the set of valid names (via `yield from`)."""
    names: set[str] = set()
    if not isinstance(volumes, list):
        return names
    for index, volume in enumerate(volumes):
        if not isinstance(volume, dict):
            continue
        name = volume.get("name")
        where = (*path, index, "name")
        if not isinstance(name, str) or not name:
            if name == "":
                yield where, "pod-volume", f"{field_name(where)} is empty; every volume needs a name"
            continue
        problem = fmt.dns1123_label_problem(name)
        if problem:
            yield where, "pod-volume", f"{field_name(where)} '{name}' is not a valid volume name: it {problem}"
        if name in names:
            yield (
                where,
                "pod-volume",
                f"{field_name(where)} '{name}' is a duplicate; volume names must be unique in the pod",
            )
        names.add(name)
    return names


def _container_problems(
    container: dict[str, Any], path: Path, names: set[str], volumes: set[str], regular: bool
) -> Iterator[Problem]:
    name = container.get("name")
    where = (*path, "name")
    if name == "":
        yield where, "container-name", f"{field_name(where)} is empty; every container needs a name"
    elif isinstance(name, str):
        problem = fmt.dns1123_label_problem(name)
        if problem:
            yield where, "container-name", f"{field_name(where)} '{name}' is not a valid container name: it {problem}"
        if name in names:
            yield (
                where,
                "container-name",
                f"{field_name(where)} '{name}' is a duplicate; container names must be unique in the pod",
            )
        names.add(name)

    image = container.get("image")
    where = (*path, "image")
    if regular and (image is None or image == ""):
        yield where, "container-image", f"{field_name(where)} is missing; every container needs an image"
    elif isinstance(image, str) and image != image.strip():
        yield where, "container-image", f"{field_name(where)} '{image}' must not have leading or trailing whitespace"

    port_names = yield from _container_port_problems(container.get("ports"), (*path, "ports"))
    yield from resources_problems(container.get("resources"), (*path, "resources"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            yield from _probe_problems(container[probe], (*path, probe), probe, port_names)
    yield from _volume_mount_problems(container.get("volumeMounts"), (*path, "volumeMounts"), volumes)
    if isinstance(container.get("securityContext"), dict):
        yield from _security_context_problems(container["securityContext"], (*path, "securityContext"))


def _security_context_problems(context: dict[str, Any], path: Path) -> Iterator[Problem]:
    """core/validation ValidateSecurityContext: no privilege without escalation."""
    if context.get("allowPrivilegeEscalation") is not False:
        return
    if context.get("privileged") is True:
        yield (
            (*path, "privileged"),
            "container-security-context",
            (f"{field_name(path)} cannot set allowPrivilegeEscalation to false and privileged to true"),
        )
    capabilities = context.get("capabilities")
    added = capabilities.get("add") if isinstance(capabilities, dict) else None
    if isinstance(added, list) and any(cap in ("SYS_ADMIN", "CAP_SYS_ADMIN") for cap in added):
        yield (
            (*path, "capabilities", "add"),
            "container-security-context",
            (f"{field_name(path)} cannot set allowPrivilegeEscalation to false and add the capability SYS_ADMIN"),
        )


def _container_port_problems(ports: Any, path: Path) -> Generator[Problem, None, set[str]]:
    names: set[str] = set()
    if not isinstance(ports, list):
        return names
    for index, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        where = (*path, index)
        container_port = port.get("containerPort")
        if _is_int(container_port):
            problem = fmt.port_number_problem(container_port)
            if problem:
                yield (
                    (*where, "containerPort"),
                    "container-port",
                    (f"{field_name((*where, 'containerPort'))} is {container_port}; it {problem}"),
                )
        host_port = port.get("hostPort")
        if _is_int(host_port) and host_port != 0 and fmt.port_number_problem(host_port):
            yield (
                (*where, "hostPort"),
                "container-port",
                (
                    f"{field_name((*where, 'hostPort'))} is {host_port}; it must be between 1 and 65535, inclusive (or 0 for none)"
                ),
            )
        name = port.get("name")
        if isinstance(name, str) and name:
            problem = fmt.port_name_problem(name)
            if problem:
                yield (
                    (*where, "name"),
                    "container-port",
                    (
                        f"{field_name((*where, 'name'))} '{name}' is not a valid port name (IANA service name): it {problem}"
                    ),
                )
            elif name in names:
                yield (
                    (*where, "name"),
                    "container-port",
                    (
                        f"{field_name((*where, 'name'))} '{name}' is a duplicate; port names must be unique in a container"
                    ),
                )
            names.add(name)
    return names


def _probe_problems(probe: dict[str, Any], path: Path, which: str, port_names: set[str]) -> Iterator[Problem]:
    handlers = [h for h in _PROBE_HANDLERS if probe.get(h) is not None]
    if len(handlers) != 1:
        found = ", ".join(handlers) if handlers else "none"
        yield (
            path,
            "probe",
            (f"{field_name(path)} must have exactly one handler of exec, httpGet, tcpSocket, grpc; found {found}"),
        )
    for handler in ("httpGet", "tcpSocket"):
        action = probe.get(handler)
        if isinstance(action, dict):
            where = (*path, handler, "port")
            port = action.get("port")
            if port is None:
                yield where, "probe", f"{field_name(where)} is missing; expected a port number or a container port name"
            else:
                problem = _port_or_name_problem(port)
                if problem:
                    yield where, "probe", f"{field_name(where)} is {describe_value(port)}; {problem}"
    grpc = probe.get("grpc")
    if isinstance(grpc, dict):
        where = (*path, "grpc", "port")
        port = grpc.get("port")
        if _is_int(port) and fmt.port_number_problem(port):
            yield where, "probe", f"{field_name(where)} is {port}; it must be between 1 and 65535, inclusive"
    threshold = probe.get("successThreshold")
    if which in ("livenessProbe", "startupProbe") and _is_int(threshold) and threshold != 1:
        where = (*path, "successThreshold")
        yield where, "probe", f"{field_name(where)} is {threshold}; it must be 1 for a {which}"


def _volume_mount_problems(mounts: Any, path: Path, volumes: set[str]) -> Iterator[Problem]:
    if not isinstance(mounts, list):
        return
    paths: set[str] = set()
    for index, mount in enumerate(mounts):
        if not isinstance(mount, dict):
            continue
        name = mount.get("name")
        where = (*path, index)
        if isinstance(name, str) and name and name not in volumes:
            known = ", ".join(sorted(volumes)) or "none"
            yield (
                (*where, "name"),
                "volume-mount",
                (f"{field_name((*where, 'name'))} '{name}' names no volume of the pod (volumes: {known})"),
            )
        mount_path = mount.get("mountPath")
        if mount_path == "":
            yield (
                (*where, "mountPath"),
                "volume-mount",
                f"{field_name((*where, 'mountPath'))} is missing; every volumeMount needs a mountPath",
            )
        elif isinstance(mount_path, str):
            if mount_path in paths:
                yield (
                    (*where, "mountPath"),
                    "volume-mount",
                    (f"{field_name((*where, 'mountPath'))} '{mount_path}' is mounted twice in the container"),
                )
            paths.add(mount_path)


# ---------------------------------------------------------------- resources


def resources_problems(resources: Any, path: Path) -> Iterator[Problem]:
    """Problems of a container's `resources` (requests, limits) at `path`."""
    if not isinstance(resources, dict):
        return
    parsed: dict[str, dict[str, Decimal]] = {}
    for section in ("limits", "requests"):
        values = resources.get(section)
        parsed[section] = {}
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            where = (*path, section, name)
            if not isinstance(name, str):
                continue
            problem = resource_name_problem(name)
            if problem:
                yield (
                    where,
                    "resource-name",
                    f"{field_name((*path, section))}['{name}'] is not a valid resource name: {problem}",
                )
                continue
            quantity = _quantity(value)
            if quantity is None:
                yield (
                    where,
                    "resource-quantity",
                    (
                        f"{field_name((*path, section))}['{name}'] is {describe_value(value)}; it {fmt.quantity_problem(None)}"
                    ),
                )
                continue
            if quantity < 0:
                yield (
                    where,
                    "resource-quantity",
                    (f"{field_name((*path, section))}['{name}'] is {value}; it must be greater than or equal to 0"),
                )
                continue
            if _is_extended(name) and quantity != quantity.to_integral_value():
                yield (
                    where,
                    "extended-resource",
                    (f"{field_name((*path, section))}['{name}'] is {value}; extended resources must be whole numbers"),
                )
                continue
            parsed[section][name] = quantity

    limits, requests = parsed["limits"], parsed["requests"]
    for name, request in requests.items():
        where = (*path, "requests", name)
        field = f"{field_name((*path, 'requests'))}['{name}']"
        raw = resources["requests"][name]
        if _is_extended(name) or name.startswith("hugepages-"):
            if name not in limits:
                if not _has_raw(resources.get("limits"), name):
                    yield (
                        where,
                        "extended-resource",
                        (
                            f"{field} is {raw} but no limit is set; {name} cannot be overcommitted, so a limit is required "
                            f"and the request must equal it"
                        ),
                    )
            elif request != limits[name]:
                yield (
                    where,
                    "extended-resource",
                    (
                        f"{field} is {raw} but the limit is {resources['limits'][name]}; {name} cannot be overcommitted, "
                        "so the request must equal the limit"
                    ),
                )
        elif name in limits and request > limits[name]:
            yield (
                where,
                "resource-requests-exceed-limits",
                (
                    f"{field} is {raw}, more than the {name} limit of {resources['limits'][name]}; "
                    "a request must be less than or equal to its limit"
                ),
            )


def resource_name_problem(name: str) -> str | None:
    """Why `name` cannot be a container resource name, or None."""
    if name in _STANDARD_CONTAINER_RESOURCES or name.startswith("hugepages-"):
        return None
    if "/" not in name:
        return (
            "it must be a standard resource (cpu, memory, ephemeral-storage, hugepages-<size>) "
            "or qualified with a domain, such as nvidia.com/gpu"
        )
    if "kubernetes.io/" in name and not name.startswith(("requests.",)):
        return None  # native resources in the kubernetes.io namespace (rare; the server decides)
    problem = fmt.qualified_name_problem(name)
    return f"it {problem}" if problem else None


def _is_extended(name: str) -> bool:
    """An extended resource: domain-qualified and outside the kubernetes.io namespace (nvidia.com/gpu)."""
    return "/" in name and "kubernetes.io/" not in name


def _has_raw(values: Any, name: str) -> bool:
    return isinstance(values, dict) and name in values


def _quantity(value: Any) -> Decimal | None:
    try:
        return fmt.parse_quantity(value)
    except ArithmeticError:  # e.g. decimal.Overflow on "1e999999999"
        return None


# ---------------------------------------------------------------- ConfigMap and Secret


def _data_size_problems(body: dict[str, Any], kind: str) -> Iterator[Problem]:
    """The API server counts value bytes (base64 decoded) of data and binaryData, or of a Secret's data and stringData."""
    text_fields, base64_fields = (("data",), ("binaryData",)) if kind == "ConfigMap" else (("stringData",), ("data",))
    total = 0
    for field in text_fields:
        values = body.get(field)
        if isinstance(values, dict):
            total += sum(len(v.encode()) for v in values.values() if isinstance(v, str))
    for field in base64_fields:
        values = body.get(field)
        if isinstance(values, dict):
            total += sum(len(v) * 3 // 4 - v.count("=", -2) for v in values.values() if isinstance(v, str))
    if total > MAX_DATA_BYTES:
        where = ("data",) if kind == "Secret" else ()
        yield (
            where,
            "data-too-large",
            (
                f"{kind} data adds up to {total} bytes; the API server refuses more than {MAX_DATA_BYTES} (1 MiB): "
                "keep large files in a volume or an image instead"
            ),
        )


# ---------------------------------------------------------------- Service


def service_problems(spec: Any) -> Iterator[Problem]:
    """Native-validation problems of a v1 Service spec."""
    if not isinstance(spec, dict):
        return
    service_type = spec.get("type") or "ClusterIP"
    if isinstance(service_type, str) and service_type not in _SERVICE_TYPES:
        yield ("spec", "type"), "service-spec", _unsupported(f"spec.type {service_type!r}", _SERVICE_TYPES)
    headless = spec.get("clusterIP") == "None"
    ports = spec.get("ports")
    if service_type == "ExternalName":
        external = spec.get("externalName")
        where: Path = ("spec", "externalName")
        if not isinstance(external, str) or not external:
            yield where, "service-spec", "spec.externalName is missing; a Service of type ExternalName needs a DNS name"
        else:
            problem = fmt.dns1123_subdomain_problem(external.removesuffix("."))
            if problem:
                yield where, "service-spec", f"spec.externalName '{external}' is not a valid DNS name: it {problem}"
    elif not headless and (ports is None or ports == []):
        yield (
            ("spec", "ports"),
            "service-spec",
            (
                "spec.ports is empty; a Service needs at least one port (unless clusterIP is None or type is ExternalName)"
            ),
        )

    for path, message in labels_problems(spec.get("selector"), ("spec", "selector")):
        yield path, "metadata-label", message

    if not isinstance(ports, list):
        return
    names: set[str] = set()
    seen: set[tuple[Any, Any]] = set()
    several = len(ports) > 1
    for index, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        where = ("spec", "ports", index)
        yield from _service_port_problems(port, where, service_type, several, names, seen)


def _service_port_problems(
    port: dict[str, Any], where: Path, service_type: str, several: bool, names: set[str], seen: set[tuple[Any, Any]]
) -> Iterator[Problem]:
    name = port.get("name")
    if isinstance(name, str) and name:
        problem = fmt.dns1123_label_problem(name)
        if problem:
            yield (
                (*where, "name"),
                "service-port",
                f"{field_name((*where, 'name'))} '{name}' is not a valid port name: it {problem}",
            )
        elif name in names:
            yield (
                (*where, "name"),
                "service-port",
                f"{field_name((*where, 'name'))} '{name}' is a duplicate; port names must be unique",
            )
        names.add(name)
    elif several and (name is None or name == ""):
        yield (
            (*where, "name"),
            "service-port",
            (
                f"{field_name((*where, 'name'))} is missing; when a Service has more than one port, every port needs a name"
            ),
        )

    number = port.get("port")
    if _is_int(number) and fmt.port_number_problem(number):
        yield (
            (*where, "port"),
            "service-port",
            f"{field_name((*where, 'port'))} is {number}; it must be between 1 and 65535, inclusive",
        )
    elif _is_int(number):
        key = (number, port.get("protocol") or "TCP")
        if key in seen:
            yield (
                (*where, "port"),
                "service-port",
                (
                    f"{field_name((*where, 'port'))} {number}/{key[1]} is a duplicate; each port and protocol pair must be unique"
                ),
            )
        seen.add(key)

    target = port.get("targetPort")
    if target is not None and target != 0 and target != "":
        problem = _port_or_name_problem(target)
        if problem:
            yield (
                (*where, "targetPort"),
                "service-port",
                f"{field_name((*where, 'targetPort'))} is {describe_value(target)}; {problem}",
            )

    node_port: Any = port.get("nodePort")
    if _is_int(node_port) and node_port != 0:
        field = field_name((*where, "nodePort"))
        if service_type == "ClusterIP":
            yield (
                (*where, "nodePort"),
                "service-port",
                f"{field} is {node_port}; nodePort may not be used when type is ClusterIP",
            )
        elif fmt.port_number_problem(node_port):
            yield (
                (*where, "nodePort"),
                "service-port",
                f"{field} is {node_port}; it must be between 1 and 65535, inclusive",
            )
        elif not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
            yield (
                (*where, "nodePort"),
                "service-node-port",
                (
                    f"{field} is {node_port}, outside the default NodePort range {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}; "
                    "the API server rejects it unless --service-node-port-range allows it"
                ),
            )


def _port_or_name_problem(value: Any) -> str | None:
    """Problem of an int-or-string port: a number 1..65535 or an IANA service name."""
    if _is_int(value):
        return "it must be between 1 and 65535, inclusive" if fmt.port_number_problem(value) else None
    if isinstance(value, str):
        if value.isdigit():  # "8080" as a string is a name, and no valid one
            return "a numeric port must be written as a number, not a string; a named port must contain a letter"
        problem = fmt.port_name_problem(value)
        return f"as a port name it {problem}" if problem else None
    return None  # wrong type: the schema stage reports it


_SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


# ---------------------------------------------------------------- other built-in kinds (rule builtin-field)
# Each follows the kind's validation in k8s.io/kubernetes v1.33 (pkg/apis/{networking,policy,core,scheduling}/
# validation) or the PodSecurity admission (k8s.io/pod-security-admission), which runs on a dry run too.

_POLICY_TYPES = ("Ingress", "Egress")
_NETWORK_PROTOCOLS = ("TCP", "UDP", "SCTP")
_PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
_ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
_POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
_POD_SECURITY_VERSION = re.compile(r"v1\.(0|[1-9][0-9]*)")
_PERCENT = re.compile(r"[0-9]+%")


def _unsupported(what: str, allowed: tuple[str, ...]) -> str:
    return f"{what} is not supported; expected one of {', '.join(allowed)}"


def network_policy_problems(body: dict[str, Any]) -> Iterator[Problem]:
    """ValidateNetworkPolicySpec: policyTypes, and the ports of every ingress and egress rule."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return
    types = spec.get("policyTypes")
    if isinstance(types, list):
        if len(types) > len(_POLICY_TYPES):
            yield ("spec", "policyTypes"), "builtin-field", "spec.policyTypes may not name more than two policy types"
        for index, policy_type in enumerate(types):
            if isinstance(policy_type, str) and policy_type not in _POLICY_TYPES:
                yield (
                    ("spec", "policyTypes", index),
                    "builtin-field",
                    _unsupported(f"spec.policyTypes[{index}] {policy_type!r}", _POLICY_TYPES),
                )
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(direction)
        for index, rule in enumerate(rules if isinstance(rules, list) else []):
            yield from _network_policy_peer_problems(rule, ("spec", direction, index, peers))
            ports = rule.get("ports") if isinstance(rule, dict) else None
            for position, port in enumerate(ports if isinstance(ports, list) else []):
                if isinstance(port, dict):
                    yield from _network_policy_port_problems(port, ("spec", direction, index, "ports", position))


def _network_policy_peer_problems(rule: Any, where: Path) -> Iterator[Problem]:
    """ValidateNetworkPolicyPeer: a peer names ipBlock or selectors, not both, and not none."""
    peers = rule.get(where[-1]) if isinstance(rule, dict) else None
    for index, peer in enumerate(peers if isinstance(peers, list) else []):
        if not isinstance(peer, dict):
            continue
        selectors = sum(peer.get(key) is not None for key in ("podSelector", "namespaceSelector"))
        if peer.get("ipBlock") is not None and selectors:
            yield (
                (*where, index),
                "builtin-field",
                f"{field_name((*where, index))} may not specify both ipBlock and a selector",
            )
        elif peer.get("ipBlock") is None and not selectors:
            yield (
                (*where, index),
                "builtin-field",
                f"{field_name((*where, index))} must specify a peer: podSelector, namespaceSelector or ipBlock",
            )


def _network_policy_port_problems(port: dict[str, Any], where: Path) -> Iterator[Problem]:
    protocol, number, end = port.get("protocol"), port.get("port"), port.get("endPort")
    if isinstance(protocol, str) and protocol not in _NETWORK_PROTOCOLS:
        yield (
            (*where, "protocol"),
            "builtin-field",
            _unsupported(f"{field_name(where)}.protocol {protocol!r}", _NETWORK_PROTOCOLS),
        )
    if number is not None:
        problem = _port_or_name_problem(number)
        if problem:
            yield (*where, "port"), "builtin-field", f"{field_name((*where, 'port'))} {number!r}: {problem}"
    if end is None:
        return
    if number is None or isinstance(number, str):
        yield (*where, "endPort"), "builtin-field", f"{field_name((*where, 'endPort'))} needs a numeric port"
    elif _is_int(end) and _is_int(number) and end < number:
        yield (*where, "endPort"), "builtin-field", f"{field_name((*where, 'endPort'))} must be at least the port"
    elif _is_int(end) and fmt.port_number_problem(end):
        yield (*where, "endPort"), "builtin-field", f"{field_name((*where, 'endPort'))} must be between 1 and 65535"


def disruption_budget_problems(body: dict[str, Any]) -> Iterator[Problem]:
    """ValidatePodDisruptionBudgetSpec: minAvailable and maxUnavailable, non-negative, at most 100%, not both."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        yield ("spec",), "builtin-field", "spec.minAvailable and spec.maxUnavailable cannot be both set"
    for name in ("minAvailable", "maxUnavailable"):
        value = spec.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            yield ("spec", name), "builtin-field", f"spec.{name} {value} must be greater than or equal to 0"
        elif isinstance(value, str):
            if not _PERCENT.fullmatch(value):
                yield (
                    ("spec", name),
                    "builtin-field",
                    f"spec.{name} {value!r} must be an integer or a percentage (e.g. '5%')",
                )
            elif int(value[:-1]) > 100:
                yield ("spec", name), "builtin-field", f"spec.{name} {value!r} must not be greater than 100%"


def claim_problems(body: dict[str, Any]) -> Iterator[Problem]:
    """ValidatePersistentVolumeClaimSpec: at least one supported access mode; ReadWriteOncePod alone."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        return
    modes = spec.get("accessModes")
    if modes is None or modes == []:
        yield (
            ("spec", "accessModes"),
            "builtin-field",
            "spec.accessModes is missing; a claim needs at least one access mode",
        )
        return
    if not isinstance(modes, list):
        return
    for index, mode in enumerate(modes):
        if isinstance(mode, str) and mode not in _ACCESS_MODES:
            yield (
                ("spec", "accessModes", index),
                "builtin-field",
                _unsupported(f"spec.accessModes[{index}] {mode!r}", _ACCESS_MODES),
            )
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        yield (
            ("spec", "accessModes"),
            "builtin-field",
            "spec.accessModes: ReadWriteOncePod may not be combined with other modes",
        )
    resources = spec.get("resources")
    requests = resources.get("requests") if isinstance(resources, dict) else None
    if resources is None or (
        isinstance(resources, dict) and not (isinstance(requests, dict) and "storage" in requests)
    ):
        yield ("spec", "resources"), "builtin-field", "spec.resources.requests.storage is missing; a claim needs a size"


def priority_class_problems(body: dict[str, Any]) -> Iterator[Problem]:
    """ValidatePriorityClass: preemptionPolicy is PreemptLowerPriority or Never."""
    policy = body.get("preemptionPolicy")
    if isinstance(policy, str) and policy not in _PREEMPTION_POLICIES:
        yield ("preemptionPolicy",), "builtin-field", _unsupported(f"preemptionPolicy {policy!r}", _PREEMPTION_POLICIES)


def namespace_problems(body: dict[str, Any]) -> Iterator[Problem]:
    """The PodSecurity admission: pod-security.kubernetes.io/{enforce,audit,warn}[-version] label values."""
    metadata = body.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    if not isinstance(labels, dict):
        return
    for mode in ("enforce", "audit", "warn"):
        level = labels.get(f"pod-security.kubernetes.io/{mode}")
        if isinstance(level, str) and level not in _POD_SECURITY_LEVELS:
            yield (
                ("metadata", "labels", f"pod-security.kubernetes.io/{mode}"),
                "builtin-field",
                _unsupported(f"pod-security.kubernetes.io/{mode} {level!r}", _POD_SECURITY_LEVELS),
            )
        version = labels.get(f"pod-security.kubernetes.io/{mode}-version")
        if isinstance(version, str) and version != "latest" and not _POD_SECURITY_VERSION.fullmatch(version):
            yield (
                ("metadata", "labels", f"pod-security.kubernetes.io/{mode}-version"),
                "builtin-field",
                (
                    f"pod-security.kubernetes.io/{mode}-version {version!r} must be 'latest' or a version such as 'v1.33'"
                ),
            )


_FIELD_CHECKS = {
    ("networking.k8s.io", "NetworkPolicy"): network_policy_problems,
    ("policy", "PodDisruptionBudget"): disruption_budget_problems,
    ("", "PersistentVolumeClaim"): claim_problems,
    ("scheduling.k8s.io", "PriorityClass"): priority_class_problems,
    ("", "Namespace"): namespace_problems,
}


# ---------------------------------------------------------------- Ingress

_PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")
_INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_PATH_SUFFIXES = ("/..", "/.")


def ingress_problems(spec: Any) -> Iterator[Problem]:
    """Native-validation problems of a networking.k8s.io/v1 Ingress spec."""
    if not isinstance(spec, dict):
        return
    if isinstance(spec.get("defaultBackend"), dict):
        yield from _backend_problems(spec["defaultBackend"], ("spec", "defaultBackend"))
    rules = spec.get("rules")
    if spec.get("defaultBackend") is None and (rules is None or rules == []):
        yield (
            ("spec",),
            "ingress-backend-spec",
            "spec needs rules or a defaultBackend; an Ingress with neither routes nothing",
        )
    if not isinstance(rules, list):
        return
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        where: Path = ("spec", "rules", index)
        host = rule.get("host")
        if isinstance(host, str) and host:
            problem = _host_problem(host)
            if problem:
                yield (*where, "host"), "ingress-host", f"{field_name((*where, 'host'))} '{host}' {problem}"
        http = rule.get("http")
        if not isinstance(http, dict):
            continue
        paths = http.get("paths")
        if paths is None or paths == []:
            yield (
                (*where, "http", "paths"),
                "ingress-path",
                f"{field_name((*where, 'http', 'paths'))} is empty; an http rule needs at least one path",
            )
            continue
        if not isinstance(paths, list):
            continue
        for position, entry in enumerate(paths):
            if isinstance(entry, dict):
                yield from _ingress_path_problems(entry, (*where, "http", "paths", position))


def _ingress_path_problems(entry: dict[str, Any], where: Path) -> Iterator[Problem]:
    path_type = entry.get("pathType")
    path = entry.get("path")
    field = field_name((*where, "pathType"))
    if path_type is None:
        pass  # required by the schema, which reports it
    elif path_type not in _PATH_TYPES:
        hint = next((p for p in _PATH_TYPES if isinstance(path_type, str) and p.lower() == path_type.lower()), None)
        suggestion = f" (did you mean {hint}? values are case-sensitive)" if hint else ""
        yield (
            (*where, "pathType"),
            "ingress-path-type",
            (
                f"{field} is {describe_value(path_type)}; it must be one of Exact, Prefix, ImplementationSpecific{suggestion}"
            ),
        )
    if isinstance(path, str):
        path_field = field_name((*where, "path"))
        if path_type in ("Exact", "Prefix"):
            if not path.startswith("/"):
                yield (
                    (*where, "path"),
                    "ingress-path",
                    f"{path_field} '{path}' must be an absolute path starting with '/'",
                )
            else:
                bad = next((s for s in _INVALID_PATH_SEQUENCES if s in path), None)
                bad = bad or next((s for s in _INVALID_PATH_SUFFIXES if path.endswith(s)), None)
                if bad:
                    yield (
                        (*where, "path"),
                        "ingress-path",
                        f"{path_field} '{path}' must not contain '{bad}' for pathType {path_type}",
                    )
        elif path and not path.startswith("/"):
            yield (*where, "path"), "ingress-path", f"{path_field} '{path}' must be an absolute path starting with '/'"
    elif path is None and path_type in ("Exact", "Prefix"):
        yield (
            (*where, "path"),
            "ingress-path",
            f"{field_name((*where, 'path'))} is missing; pathType {path_type} needs an absolute path",
        )
    backend = entry.get("backend")
    if isinstance(backend, dict):
        yield from _backend_problems(backend, (*where, "backend"))


def _backend_problems(backend: dict[str, Any], where: Path) -> Iterator[Problem]:
    service, resource = backend.get("service"), backend.get("resource")
    if (service is None) == (resource is None):
        yield where, "ingress-backend-spec", f"{field_name(where)} must have exactly one of service or resource"
    if not isinstance(service, dict):
        return
    name = service.get("name")
    if isinstance(name, str):
        problem = fmt.dns1035_label_problem(name)
        if problem:
            yield (
                (*where, "service", "name"),
                "ingress-backend-spec",
                (f"{field_name((*where, 'service', 'name'))} '{name}' is not a valid Service name: it {problem}"),
            )
    port = service.get("port")
    port_path = (*where, "service", "port")
    if not isinstance(port, dict):
        if port is None:
            yield port_path, "ingress-backend-spec", f"{field_name(port_path)} is missing; set number or name"
        return
    number, port_name = port.get("number"), port.get("name")
    has_number = number is not None and number != 0
    has_name = port_name is not None and port_name != ""
    if has_number == has_name:
        yield port_path, "ingress-backend-spec", f"{field_name(port_path)} must have exactly one of number or name"
    if has_number and _is_int(number) and fmt.port_number_problem(number):
        yield (
            (*port_path, "number"),
            "ingress-backend-spec",
            (f"{field_name((*port_path, 'number'))} is {number}; it must be between 1 and 65535, inclusive"),
        )
    if has_name and isinstance(port_name, str):
        problem = fmt.port_name_problem(port_name)
        if problem:
            yield (
                (*port_path, "name"),
                "ingress-backend-spec",
                (f"{field_name((*port_path, 'name'))} '{port_name}' is not a valid port name: it {problem}"),
            )


def _host_problem(host: str) -> str | None:
    name = host[2:] if host.startswith("*.") else host
    if name.replace(".", "").isdigit() or ":" in name:
        return "must be a DNS name, not an IP address"
    problem = fmt.dns1123_subdomain_problem(name)
    if problem:
        return f"is not a valid host: it {problem} (a leading '*.' wildcard is allowed)"
    return None


# ---------------------------------------------------------------- helpers


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
