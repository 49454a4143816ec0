"""What KubeRay's operator rejects in a RayClusterSpec, wherever it is embedded.

A RayJob, RayService and RayCronJob each carry a RayClusterSpec that the
operator validates the same way before it creates the cluster; these rules
therefore run on all four kinds and report paths inside the embedding document.
KubeRay reports these only as events or a ValidationFailed status after apply.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...inputs.documents import Document
from ...schema.formats import dns1035_label_problem, dns1123_label_problem, label_value_problem, qualified_name_problem
from . import Bundle, Problem, Subject, rule
from ._access import dig, env_is_true, env_var, integer, mapping, text
from ._ray import RAY_KINDS, ClusterSpec, format_version, parse_version

# Longest names KubeRay accepts: it derives Service, pod and child-resource names from them.
MAX_NAME_LENGTH = {"RayCluster": 53, "RayJob": 47, "RayService": 47, "RayCronJob": 36}

RESOURCE_START_PARAMS = ("num-cpus", "num-gpus", "memory", "resources")

TOKEN_AUTH_MIN_RAY = (2, 52, 0)
K8S_TOKEN_AUTH_MIN_RAY = (2, 55, 0)
PRIORITY_MIN_RAY = (2, 56, 0)


# --- names ------------------------------------------------------------------------------


@rule("ray-name-too-long", kinds=RAY_KINDS)
def name_too_long(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Ray resource names fit KubeRay's limits (RayCluster 53, RayJob/RayService 47, RayCronJob 36)."""
    name = text(document.metadata.get("name"))
    limit = MAX_NAME_LENGTH[document.kind]
    if len(name) > limit:
        yield Problem(
            ("metadata", "name"),
            f"{document.kind} name {name!r} has {len(name)} characters; shorten it to at most {limit} "
            "(KubeRay derives Service and pod names from it)",
        )


@rule("ray-name-dns1035", kinds=RAY_KINDS)
def name_dns1035(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Ray resource names are DNS-1035 labels (start with a letter), as KubeRay requires."""
    name = text(document.metadata.get("name"))
    if not name or len(name) > MAX_NAME_LENGTH[document.kind]:
        return
    problem = dns1035_label_problem(name)
    if problem:
        yield Problem(("metadata", "name"), f"{document.kind} name {name!r} {problem}; rename it")


# --- groups -----------------------------------------------------------------------------


@rule("worker-group-name-unique", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def worker_group_names_unique(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """Worker group names are unique within a cluster."""
    seen: set[str] = set()
    for group in cluster.workers:
        name = text(group.spec.get("groupName"))
        if name in seen:
            yield Problem(
                (*group.path, "groupName"),
                f"worker group name {name!r} is used twice; give each worker group its own groupName",
            )
        seen.add(name)


@rule("worker-group-name-dns1123", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def worker_group_name_format(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """Worker group names are DNS-1123 labels: KubeRay puts them in pod, label and NetworkPolicy names."""
    for group in cluster.workers:
        name = group.spec.get("groupName")
        if not isinstance(name, str):
            continue
        problem = dns1123_label_problem(name)
        if problem:
            yield Problem((*group.path, "groupName"), f"worker group name {name!r} {problem}; rename the group")


@rule("ray-container-missing", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def ray_container_missing(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """The head and every worker template have a container; the first one runs Ray."""
    for group in cluster.groups:
        if group.ray_container is None:
            yield Problem(
                (*group.pod_path, "containers"),
                f"{group.label} has no container; add the Ray container as the first entry of template.spec.containers",
            )


@rule("worker-replicas-range", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def worker_replicas_range(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """Worker group minReplicas and maxReplicas are not negative and minReplicas <= maxReplicas."""
    for group in cluster.workers:
        low, high = integer(group.spec.get("minReplicas")), integer(group.spec.get("maxReplicas"))
        for field, value in (("minReplicas", low), ("maxReplicas", high)):
            if value is not None and value < 0:
                yield Problem((*group.path, field), f"{group.label} has {field} {value}; set it to 0 or more")
        if low is not None and high is not None and 0 <= high < low:
            yield Problem(
                (*group.path, "minReplicas"),
                f"{group.label} has minReplicas {low} greater than maxReplicas {high}; lower minReplicas or raise maxReplicas",
            )


@rule("group-resources-conflict", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def group_resources_conflict(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A group sets Ray resources either in `resources` or in rayStartParams, not both."""
    for group in cluster.groups:
        if not mapping(group.spec.get("resources")):
            continue
        used = [p for p in RESOURCE_START_PARAMS if group.start_param(p)]
        if used:
            yield Problem(
                (*group.path, "resources"),
                f"{group.label} sets both resources and rayStartParams {', '.join(used)}; keep only one of them",
            )


@rule("ray-start-params-labels", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def ray_start_params_labels(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """rayStartParams has no `labels` entry; Ray node labels go in the group's `labels` field."""
    for group in cluster.groups:
        if "labels" in group.ray_start_params:
            yield Problem(
                (*group.path, "rayStartParams", "labels"),
                f"{group.label} sets rayStartParams.labels, which KubeRay rejects; move the labels to the group's labels field",
            )


@rule("group-labels-invalid", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def group_labels_invalid(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A group's Ray node `labels` have valid Kubernetes label keys and values."""
    for group in cluster.groups:
        for key, value in mapping(group.spec.get("labels")).items():
            key_problem = qualified_name_problem(str(key))
            if key_problem:
                yield Problem(
                    (*group.path, "labels", str(key)), f"{group.label} label key {key!r}: {key_problem}; fix the key"
                )
                continue
            value_problem = label_value_problem(value) if isinstance(value, str) else "must be a string"
            if value_problem:
                yield Problem(
                    (*group.path, "labels", str(key)),
                    f"{group.label} label {key}={value!r}: value {value_problem}; fix the value",
                )


@rule("worker-idle-timeout", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def worker_idle_timeout(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A worker group's idleTimeoutSeconds is not negative and is used only with autoscaler v2."""
    for group in cluster.workers:
        if "idleTimeoutSeconds" not in group.spec or group.spec.get("idleTimeoutSeconds") is None:
            continue
        value = integer(group.spec.get("idleTimeoutSeconds"))
        path = (*group.path, "idleTimeoutSeconds")
        if value is not None and value < 0:
            yield Problem(path, f"{group.label} has idleTimeoutSeconds {value}; set it to 0 or more")
        elif not cluster.autoscaler_v2:
            yield Problem(
                path,
                f"{group.label} sets idleTimeoutSeconds, which needs autoscaler v2; "
                "set autoscalerOptions.version: v2 or remove idleTimeoutSeconds",
            )


@rule("worker-priority", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def worker_priority(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A non-zero worker group priority needs rayVersion >= 2.56.0 and autoscaler v2."""
    for group in cluster.workers:
        priority = integer(group.spec.get("priority"))
        if not priority:
            continue
        path = (*group.path, "priority")
        version = parse_version(cluster.ray_version)
        if version is None or version < PRIORITY_MIN_RAY:
            found = cluster.ray_version or "no rayVersion"
            yield Problem(
                path,
                f"{group.label} sets priority, which needs Ray >= {format_version(PRIORITY_MIN_RAY)} (found {found}); raise rayVersion or remove priority",
            )
        elif not cluster.autoscaler_v2:
            yield Problem(
                path,
                f"{group.label} sets priority {priority}, which only autoscaler v2 honours; set autoscalerOptions.version: v2 or remove priority",
            )


@rule("worker-group-suspend-autoscaling", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def worker_group_suspend(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A worker group is not suspended while in-tree autoscaling is enabled."""
    if not cluster.autoscaling:
        return
    for group in cluster.workers:
        if group.spec.get("suspend") is True:
            yield Problem(
                (*group.path, "suspend"),
                f"{group.label} is suspended but autoscaling is enabled, which KubeRay rejects; remove suspend or disable autoscaling",
            )


# --- autoscaler ------------------------------------------------------------------------


@rule("autoscaler-v2-env-without-autoscaling", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def autoscaler_env_without_autoscaling(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """RAY_enable_autoscaler_v2 is not turned on in the head unless enableInTreeAutoscaling is true."""
    head = cluster.head.ray_container
    if cluster.autoscaling or head is None or not env_is_true(head, "RAY_enable_autoscaler_v2"):
        return
    index, _ = env_var(head, "RAY_enable_autoscaler_v2") or (0, {})
    yield Problem(
        (*cluster.head.ray_container_path, "env", index),
        "head env RAY_enable_autoscaler_v2 is on but enableInTreeAutoscaling is not true; set enableInTreeAutoscaling: true or remove the variable",
    )


@rule("autoscaler-version-and-env", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def autoscaler_version_and_env(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """The autoscaler version is chosen with autoscalerOptions.version only, not also with the head env."""
    head = cluster.head.ray_container
    if not cluster.autoscaling or head is None or cluster.autoscaler_options.get("version") is None:
        return
    found = env_var(head, "RAY_enable_autoscaler_v2")
    if found is not None:
        yield Problem(
            (*cluster.head.ray_container_path, "env", found[0]),
            "both autoscalerOptions.version and head env RAY_enable_autoscaler_v2 are set; remove the env variable",
        )


@rule("autoscaler-v2-restart-policy", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def autoscaler_v2_restart_policy(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """With autoscaler v2, Ray pods have restartPolicy Never or unset (v2 replaces failed pods itself)."""
    if not cluster.autoscaling or cluster.autoscaler_options.get("version") != "v2":
        return
    for group in cluster.groups:
        policy = group.pod_spec.get("restartPolicy")
        if policy not in (None, "", "Never"):
            yield Problem(
                (*group.pod_path, "restartPolicy"),
                f"{group.label} has restartPolicy {policy!r}, but autoscaler v2 needs Never; set it to Never or remove it",
            )


@rule("autoscaler-managed-env", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def autoscaler_managed_env(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """autoscalerOptions.env does not set KUBERAY_GEN_AUTOSCALER_START_CMD, which KubeRay injects."""
    found = env_var(cluster.autoscaler_options, "KUBERAY_GEN_AUTOSCALER_START_CMD")
    if found is not None:
        yield Problem(
            (*cluster.path, "autoscalerOptions", "env", found[0]),
            "autoscalerOptions.env sets KUBERAY_GEN_AUTOSCALER_START_CMD, which KubeRay manages; remove it",
        )


@rule("autoscaler-idle-timeout", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def autoscaler_idle_timeout(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """autoscalerOptions.idleTimeoutSeconds is not negative."""
    value = integer(cluster.autoscaler_options.get("idleTimeoutSeconds"))
    if value is not None and value < 0:
        yield Problem(
            (*cluster.path, "autoscalerOptions", "idleTimeoutSeconds"),
            f"autoscalerOptions.idleTimeoutSeconds is {value}; set it to 0 or more",
        )


# --- GCS fault tolerance ------------------------------------------------------------------


@rule("gcs-ft-annotation-and-options", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def ft_annotation_and_options(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """GCS fault tolerance is configured with gcsFaultToleranceOptions, not also the ray.io/ft-enabled annotation."""
    if cluster.ft_options is not None and cluster.document.annotations.get("ray.io/ft-enabled"):
        yield Problem(
            ("metadata", "annotations", "ray.io/ft-enabled"),
            "both the ray.io/ft-enabled annotation and gcsFaultToleranceOptions are set; remove the annotation",
        )


@rule("gcs-ft-redis-address-without-ft", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def redis_address_without_ft(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """The head sets RAY_REDIS_ADDRESS only when GCS fault tolerance is enabled."""
    head = cluster.head.ray_container
    if cluster.ft_enabled or head is None:
        return
    found = env_var(head, "RAY_REDIS_ADDRESS")
    if found is not None:
        yield Problem(
            (*cluster.head.ray_container_path, "env", found[0]),
            "head env RAY_REDIS_ADDRESS implies GCS fault tolerance, which is not enabled; set gcsFaultToleranceOptions.redisAddress instead",
        )


@rule("gcs-ft-managed-settings", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def ft_managed_settings(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """With gcsFaultToleranceOptions, Redis address, password and namespace are set there, not in params, env or annotations."""
    if cluster.ft_options is None:
        return
    head = cluster.head
    if head.start_param("redis-password"):
        yield Problem(
            (*head.path, "rayStartParams", "redis-password"),
            "rayStartParams redis-password conflicts with gcsFaultToleranceOptions; move it to gcsFaultToleranceOptions.redisPassword",
        )
    container = head.ray_container or {}
    for variable, field in (("REDIS_PASSWORD", "redisPassword"), ("RAY_REDIS_ADDRESS", "redisAddress")):
        found = env_var(container, variable)
        if found is not None:
            yield Problem(
                (*head.ray_container_path, "env", found[0]),
                f"head env {variable} conflicts with gcsFaultToleranceOptions; remove it and set gcsFaultToleranceOptions.{field}",
            )
    if cluster.document.annotations.get("ray.io/external-storage-namespace"):
        yield Problem(
            ("metadata", "annotations", "ray.io/external-storage-namespace"),
            "the ray.io/external-storage-namespace annotation conflicts with gcsFaultToleranceOptions; use gcsFaultToleranceOptions.externalStorageNamespace",
        )


@rule("redis-username-forbidden", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def redis_username(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """The Redis username is never set in rayStartParams or head env; use gcsFaultToleranceOptions.redisUsername."""
    head = cluster.head
    if head.start_param("redis-username"):
        yield Problem(
            (*head.path, "rayStartParams", "redis-username"),
            "rayStartParams redis-username is rejected by KubeRay; set gcsFaultToleranceOptions.redisUsername instead",
        )
    found = env_var(head.ray_container or {}, "REDIS_USERNAME")
    if found is not None:
        yield Problem(
            (*head.ray_container_path, "env", found[0]),
            "head env REDIS_USERNAME is rejected by KubeRay; set gcsFaultToleranceOptions.redisUsername instead",
        )


@rule("gcs-ft-backend", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def ft_backend(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """The rocksdb backend has no Redis settings and no KubeRay-managed env; the redis backend has no storage."""
    options = cluster.ft_options
    if options is None:
        return
    base = (*cluster.path, "gcsFaultToleranceOptions")
    if options.get("backend") == "rocksdb":
        for field in ("redisAddress", "redisUsername", "redisPassword", "externalStorageNamespace"):
            if options.get(field) not in (None, ""):
                yield Problem(
                    (*base, field),
                    f"gcsFaultToleranceOptions.{field} does not apply to the rocksdb backend; remove it or use backend: redis",
                )
        storage = mapping(options.get("storage"))
        if storage.get("claimName") and any(
            storage.get(f) not in (None, [], "") for f in ("size", "storageClassName", "accessModes")
        ):
            yield Problem(
                (*base, "storage"),
                "storage.claimName names an existing PVC, so size, storageClassName and accessModes must not be set; remove them or claimName",
            )
        for index, entry in enumerate(dig(cluster.head.ray_container, "env") or []):
            if isinstance(entry, dict) and entry.get("name") in ("RAY_GCS_STORAGE", "RAY_GCS_STORAGE_PATH"):
                yield Problem(
                    (*cluster.head.ray_container_path, "env", index),
                    f"head env {entry['name']} is managed by KubeRay for the rocksdb backend; remove it",
                )
    elif options.get("storage") is not None:
        yield Problem(
            (*base, "storage"),
            "gcsFaultToleranceOptions.storage only applies to backend: rocksdb; remove it or set backend: rocksdb",
        )


# --- authentication -----------------------------------------------------------------------


@rule("token-auth-ray-version", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def token_auth_ray_version(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """authOptions.mode token needs rayVersion 2.52.0 or later."""
    if not cluster.token_auth:
        return
    version = parse_version(cluster.ray_version)
    if version is None or version < TOKEN_AUTH_MIN_RAY:
        found = repr(cluster.ray_version) if cluster.ray_version else "no rayVersion"
        yield Problem(
            (*cluster.path, "rayVersion") if cluster.ray_version else (*cluster.path, "authOptions", "mode"),
            f"token authentication needs Ray >= {format_version(TOKEN_AUTH_MIN_RAY)} (found {found}); set rayVersion to 2.52.0 or later",
        )


@rule("k8s-token-auth", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def k8s_token_auth(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """enableK8sTokenAuth needs token mode, Ray >= 2.55.0, no secretName, and a RayCluster (not a RayJob or RayService)."""
    auth = mapping(cluster.spec.get("authOptions"))
    if auth.get("enableK8sTokenAuth") is not True:
        return
    path = (*cluster.path, "authOptions", "enableK8sTokenAuth")
    if cluster.document.kind != "RayCluster":
        yield Problem(
            path,
            f"enableK8sTokenAuth is not supported for {cluster.document.kind}; remove it and use token mode with a Secret",
        )
    elif not cluster.token_auth:
        yield Problem(
            path, "enableK8sTokenAuth needs authOptions.mode: token; set the mode or remove enableK8sTokenAuth"
        )
    else:
        version = parse_version(cluster.ray_version)
        if version is None or version < K8S_TOKEN_AUTH_MIN_RAY:
            yield Problem(
                path,
                f"enableK8sTokenAuth needs Ray >= {format_version(K8S_TOKEN_AUTH_MIN_RAY)} (found {cluster.ray_version or 'no rayVersion'}); raise rayVersion",
            )
        if text(auth.get("secretName")):
            yield Problem(
                (*cluster.path, "authOptions", "secretName"),
                "enableK8sTokenAuth and secretName exclude each other; remove secretName",
            )


# --- upgrades -----------------------------------------------------------------------------


@rule("cluster-upgrade-strategy", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def cluster_upgrade_strategy(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A RayCluster's upgradeStrategy.type is Recreate or None, and only a standalone RayCluster sets it."""
    strategy = cluster.spec.get("upgradeStrategy")
    if not isinstance(strategy, dict) or strategy.get("type") is None:
        return
    path = (*cluster.path, "upgradeStrategy", "type")
    if cluster.document.kind != "RayCluster":
        yield Problem(
            path,
            f"upgradeStrategy is rejected on a RayCluster created by a {cluster.document.kind}; remove it (the {cluster.document.kind} manages upgrades)",
        )
    elif strategy.get("type") not in ("Recreate", "None"):
        yield Problem(
            path,
            f"upgradeStrategy.type {strategy.get('type')!r} is not Recreate or None; use Recreate so spec changes reach running pods",
        )
