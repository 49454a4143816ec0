"""What KubeRay 1.7.0 rejects depending on its feature gates (ValidateRayClusterSpec in validation.go).

With a gate off, the fields it guards are rejected and nothing else about them is
checked; with it on, their own rules apply. The gates in force are the bundle's
`operator` (see raygitops/operator.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...inputs.documents import Document
from . import Bundle, Problem, Subject, rule
from ._access import containers, dig, env_entries, mapping, sequence, text
from ._ray import RAY_KINDS, ClusterSpec, cluster_spec, job_spec

# Fields of a RayClusterSpec and the gate that must be on for KubeRay to accept them.
GATED_FIELDS = (
    ("networkPolicy", "RayClusterNetworkPolicy"),
    ("tlsOptions", "RayClusterMTLS"),
    ("historyServerOptions", "RayClusterHistoryServer"),
)

TLS_ENV = ("RAY_USE_TLS", "RAY_TLS_SERVER_CERT", "RAY_TLS_SERVER_KEY", "RAY_TLS_CA_CERT")
TLS_VOLUME, TLS_MOUNT_PATH = "ray-tls", "/etc/ray/tls"
COLLECTOR_CONTAINER = "ray-history-collector"
COLLECTOR_MANAGED_ENV = (
    "POD_IP",
    "FQ_RAY_IP",
    "RAY_CLUSTER_NAME",
    "RAY_CLUSTER_NAMESPACE",
    "RAY_ROLE",
    "OWNER_KIND",
    "OWNER_NAME",
    "EVENTS_PORT",
)
# STORAGE_BACKEND value -> env vars that must have a value for it (AZUREBLOB is handled apart).
COLLECTOR_BACKEND_ENV = {
    "GCS": ("GCS_BUCKET",),
    "S3": ("S3_REGION",),
    "ALIYUNOSS": ("OSS_BUCKET", "OSS_ENDPOINT", "OSS_REGION"),
}


@rule("feature-gate-disabled", kinds=RAY_KINDS)
def feature_gate_disabled(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A field guarded by a KubeRay feature gate is used only with the gate on (--feature-gates, the config, the operator's Helm values).

    Why: KubeRay 1.7.0 rejects spec.networkPolicy, spec.tlsOptions, spec.historyServerOptions and
    gcsFaultToleranceOptions.backend: rocksdb while their alpha gate is off, as it is by default, and runs no
    RayCronJob controller while the RayCronJob gate is off, so a RayCronJob never starts a job.

    Fails:
        spec:
          networkPolicy: {mode: DenyAll}   # while RayClusterNetworkPolicy is off

    Instead:
        spec: {}   # or turn the gate on: --feature-gates RayClusterNetworkPolicy=true
    """
    if document.kind == "RayCronJob" and not bundle.operator.enabled("RayCronJob"):
        yield Problem(
            "",
            "KubeRay runs no RayCronJob controller while its RayCronJob feature gate is off (the default in 1.7.0), "
            "so this RayCronJob never starts a job; enable it in the operator "
            "(--feature-gates RayCronJob=true here, featureGates in its Helm values) or use a RayJob",
        )
    # The subject is the document: the gated fields are in its cluster spec and, for a RayJob, in its job spec.
    cluster = cluster_spec(document)
    if cluster is not None:
        yield from _gated_cluster_fields(cluster, bundle)
    job = job_spec(document)
    if job is not None and not bundle.operator.enabled("RayJobDeletionPolicy"):
        spec, base = job
        if spec.get("deletionStrategy") is not None:
            yield Problem((*base, "deletionStrategy"), _gate_message("deletionStrategy", "RayJobDeletionPolicy"))


def _gated_cluster_fields(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    for field, gate in GATED_FIELDS:
        if cluster.spec.get(field) is not None and not bundle.operator.enabled(gate):
            yield Problem((*cluster.path, field), _gate_message(f"spec.{field}", gate))
    gcs = mapping(cluster.spec.get("gcsFaultToleranceOptions"))
    if gcs.get("backend") == "rocksdb" and not bundle.operator.enabled("GCSFaultToleranceEmbeddedStorage"):
        yield Problem(
            (*cluster.path, "gcsFaultToleranceOptions", "backend"),
            _gate_message("the rocksdb GCS fault tolerance backend", "GCSFaultToleranceEmbeddedStorage"),
        )
    if not bundle.operator.enabled("RayJobDeletionPolicy"):
        for group in cluster.workers:
            if group.spec.get("suspend") is True:
                yield Problem(
                    (*group.path, "suspend"),
                    _gate_message(f"suspending worker group {group.name!r}", "RayJobDeletionPolicy"),
                )


def _gate_message(what: str, gate: str) -> str:
    return (
        f"KubeRay rejects {what} while its {gate} feature gate is off (the default in 1.7.0); "
        f"enable it in the operator (--feature-gates {gate}=true here, featureGates in its Helm values) or remove the field"
    )


@rule("network-policy-config", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def network_policy_config(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """spec.networkPolicy rules fit its mode, and its workerGroups name worker groups of the cluster.

    Why: with RayClusterNetworkPolicy on, KubeRay rejects ingress rules under DenyAllEgress, egress
    rules under DenyAllIngress, and a workerGroups entry for a group the cluster does not have.

    Fails:
        networkPolicy:
          mode: DenyAllEgress
          head: {ingressRules: [{}]}

    Instead:
        networkPolicy:
          mode: DenyAll
          head: {ingressRules: [{}]}
    """
    if not bundle.operator.enabled("RayClusterNetworkPolicy"):
        return  # feature-gate-disabled reports the field; KubeRay checks nothing else
    policy = cluster.spec.get("networkPolicy")
    if not isinstance(policy, dict):
        return
    base = (*cluster.path, "networkPolicy")
    mode = text(policy.get("mode")) or "DenyAll"
    for part in ("head", "worker"):
        yield from _rules_fit_mode(mapping(policy.get(part)), mode, (*base, part), f"networkPolicy.{part}")
    groups = {text(g.spec.get("groupName")) for g in cluster.workers}
    for index, entry in enumerate(sequence(policy.get("workerGroups"))):
        entry = mapping(entry)
        name = text(entry.get("groupName"))
        where = (*base, "workerGroups", index)
        yield from _rules_fit_mode(entry, mode, where, f"networkPolicy.workerGroups[{name!r}]")
        if name not in groups:
            yield Problem(
                (*where, "groupName"),
                f"networkPolicy.workerGroups[{name!r}] names no worker group of this cluster "
                f"({', '.join(sorted(groups)) or 'none'}); fix the name",
            )


def _rules_fit_mode(part: dict[str, Any], mode: str, path: tuple[str | int, ...], label: str) -> Iterator[Problem]:
    if mode == "DenyAllEgress" and sequence(part.get("ingressRules")):
        yield Problem(
            (*path, "ingressRules"),
            f"{label}.ingressRules cannot be set when mode is DenyAllEgress (ingress is not restricted); use mode DenyAll or remove them",
        )
    if mode == "DenyAllIngress" and sequence(part.get("egressRules")):
        yield Problem(
            (*path, "egressRules"),
            f"{label}.egressRules cannot be set when mode is DenyAllIngress (egress is not restricted); use mode DenyAll or remove them",
        )


@rule("tls-options-managed", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def tls_options_managed(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """With tlsOptions enabled, no Ray container or autoscalerOptions sets the TLS env or mounts what KubeRay manages.

    Why: with RayClusterMTLS on and tlsOptions.enabled, KubeRay injects RAY_USE_TLS,
    RAY_TLS_SERVER_CERT, RAY_TLS_SERVER_KEY, RAY_TLS_CA_CERT and the ray-tls volume at /etc/ray/tls,
    and rejects a cluster that sets them itself.

    Fails:
        spec:
          tlsOptions: {enabled: true}
          headGroupSpec:
            template:
              spec:
                containers:
                - name: ray-head
                  env: [{name: RAY_USE_TLS, value: '1'}]

    Instead:
        spec:
          tlsOptions: {enabled: true}
          headGroupSpec:
            template:
              spec:
                containers:
                - name: ray-head   # KubeRay sets RAY_USE_TLS and mounts the certificates
    """
    if not bundle.operator.enabled("RayClusterMTLS"):
        return
    if dig(cluster.spec, "tlsOptions", "enabled") is not True:
        return
    for group in cluster.groups:
        container = group.ray_container
        if container is None:
            continue
        yield from _managed_env(container, group.ray_container_path, group.label)
        mounts = sequence(container.get("volumeMounts"))
        yield from _managed_mounts(mounts, (*group.ray_container_path, "volumeMounts"), group.label)
    autoscaler = cluster.autoscaler_options
    yield from _managed_env(autoscaler, (*cluster.path, "autoscalerOptions"), "autoscalerOptions")
    mounts = sequence(autoscaler.get("volumeMounts"))
    yield from _managed_mounts(mounts, (*cluster.path, "autoscalerOptions", "volumeMounts"), "autoscalerOptions")


def _managed_env(container: dict[str, Any], path: tuple[str | int, ...], label: str) -> Iterator[Problem]:
    for index, entry in env_entries(container):
        if entry.get("name") in TLS_ENV:
            yield Problem(
                (*path, "env", index, "name"),
                f"{entry['name']} in {label} is managed by KubeRay when tlsOptions is enabled; remove it",
            )


def _managed_mounts(mounts: list[Any], path: tuple[str | int, ...], label: str) -> Iterator[Problem]:
    for index, mount in enumerate(mounts):
        mount = mapping(mount)
        if mount.get("name") == TLS_VOLUME or mount.get("mountPath") == TLS_MOUNT_PATH:
            yield Problem(
                (*path, index),
                f"volume mount {text(mount.get('name'))!r} at {text(mount.get('mountPath'))} in {label} collides with KubeRay's {TLS_VOLUME} mount at {TLS_MOUNT_PATH}; rename it or mount elsewhere",
            )


@rule("history-server-options", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def history_server_options(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """historyServerOptions has collectorOptions with an image and a storage backend, and no container takes the collector's name.

    Why: with RayClusterHistoryServer on, KubeRay rejects collector options without an image, without a
    literal STORAGE_BACKEND (and that backend's settings), with env it injects itself, and pod
    templates that already have a container named ray-history-collector.

    Fails:
        historyServerOptions:
          collectorOptions: {image: 'collector:1.0'}

    Instead:
        historyServerOptions:
          collectorOptions:
            image: 'collector:1.0'
            env: [{name: STORAGE_BACKEND, value: S3}, {name: S3_REGION, value: us-east-1}]
    """
    if not bundle.operator.enabled("RayClusterHistoryServer"):
        return
    options = cluster.spec.get("historyServerOptions")
    if options is None:
        return
    base = (*cluster.path, "historyServerOptions")
    collector = mapping(mapping(options).get("collectorOptions"))
    if not collector:
        yield Problem(
            base,
            "historyServerOptions.collectorOptions must be set; add collectorOptions with an image and STORAGE_BACKEND",
        )
        return
    yield from _collector_problems(collector, (*base, "collectorOptions"))
    for group in cluster.groups:
        for index, container in containers(group.pod_spec):
            if container.get("name") == COLLECTOR_CONTAINER:
                yield Problem(
                    (*group.pod_path, "containers", index, "name"),
                    f"{group.label} has a container named {COLLECTOR_CONTAINER}, which KubeRay injects with "
                    "historyServerOptions; rename it",
                )


def _collector_problems(collector: dict[str, Any], path: tuple[str | int, ...]) -> Iterator[Problem]:
    if not text(collector.get("image")):
        yield Problem((*path, "image"), "collectorOptions.image must be set")
    env = {text(mapping(e).get("name")): mapping(e) for e in sequence(collector.get("env"))}

    def has_value(name: str) -> bool:
        entry = env.get(name)
        return entry is not None and (bool(text(entry.get("value"))) or entry.get("valueFrom") is not None)

    for name in COLLECTOR_MANAGED_ENV:
        if name in env:
            yield Problem(
                (*path, "env"),
                f"collectorOptions.env must not contain {name}: KubeRay injects it into the collector; remove it",
            )
    backend = text(env.get("STORAGE_BACKEND", {}).get("value")).upper()
    if not backend:
        yield Problem(
            (*path, "env"),
            "collectorOptions.env needs STORAGE_BACKEND with a literal value (GCS, S3, AZUREBLOB or ALIYUNOSS)",
        )
        return
    if backend == "AZUREBLOB":
        mode = text(env.get("AZURE_STORAGE_AUTH_MODE", {}).get("value")).strip().lower()
        needed = {
            "connection_string": ("AZURE_STORAGE_CONNECTION_STRING",),
            "workload_identity": ("AZURE_STORAGE_ACCOUNT_URL",),
            "default": ("AZURE_STORAGE_ACCOUNT_URL",),
        }.get(mode)
        if needed is None and not (
            has_value("AZURE_STORAGE_CONNECTION_STRING") or has_value("AZURE_STORAGE_ACCOUNT_URL")
        ):
            yield Problem(
                (*path, "env"),
                "STORAGE_BACKEND AZUREBLOB needs AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL",
            )
        for name in needed or ():
            if not has_value(name):
                yield Problem(
                    (*path, "env"), f"STORAGE_BACKEND AZUREBLOB with AZURE_STORAGE_AUTH_MODE {mode} needs {name}"
                )
        return
    for name in COLLECTOR_BACKEND_ENV.get(backend, ()):
        if not has_value(name):
            yield Problem((*path, "env"), f"STORAGE_BACKEND {backend} needs {name} in collectorOptions.env")
