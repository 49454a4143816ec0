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

# The label KubeRay puts on the RayCluster a RayJob or RayService creates; its value is the creator's kind.
ORIGINATED_FROM_CRD = "ray.io/originated-from-crd"

TOKEN_AUTH_MIN_RAY = (2, 52, 0)
K8S_TOKEN_AUTH_MIN_RAY = (2, 55, 0)
PRIORITY_MIN_RAY = (2, 56, 0)


# --- names ------------------------------------------------------------------------------


@rule("ray-name-too-long", kinds=RAY_KINDS)
def name_too_long(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """Ray resource names fit KubeRay's limits (RayCluster 53, RayJob/RayService 47, RayCronJob 36).

    Why: KubeRay derives Service, pod and child-resource names from the resource's name, so KubeRay v1.7.0's
    validation (validation.go) caps its length (RayCluster 53, RayJob and RayService 47, RayCronJob 36); a longer
    name is rejected when the operator reconciles it, after `kubectl apply` succeeded.

    Fails:
        kind: RayCluster
        metadata:
          name: llm-finetuning-cluster-for-the-recommendation-team-a10   # 54 characters

    Instead:
        kind: RayCluster
        metadata:
          name: llm-finetuning-recommendation-a100                # 34 characters
    """
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
    """Ray resource names are DNS-1035 labels (start with a letter), as KubeRay requires.

    Why: the name becomes part of Service names, which must be DNS-1035 labels (lowercase, starting with a letter);
    KubeRay v1.7.0's validation (validation.go) rejects any other name, after the API server accepted it.

    Fails:
        kind: RayJob
        metadata:
          name: 2-train

    Instead:
        kind: RayJob
        metadata:
          name: train-2
    """
    name = text(document.metadata.get("name"))
    if not name or len(name) > MAX_NAME_LENGTH[document.kind]:
        return
    problem = dns1035_label_problem(name)
    if problem:
        yield Problem(("metadata", "name"), f"{document.kind} name {name!r} {problem}; rename it")


# --- groups -----------------------------------------------------------------------------


@rule("worker-group-name-unique", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def worker_group_names_unique(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """Worker group names are unique within a cluster.

    Why: KubeRay tells a group's pods apart by the ray.io/group label, which is the group name; two groups with one
    name share their pods, so the operator counts the other group's pods as its own and scales both wrongly.

    Fails:
        workerGroupSpecs:
          - groupName: a
          - groupName: a

    Instead:
        workerGroupSpecs:
          - groupName: a
          - groupName: b
    """
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
    """With spec.networkPolicy set, worker group names are DNS-1123 labels (KubeRay names a NetworkPolicy after each group).

    Why: KubeRay 1.7.0 (validateNetworkPolicy) rejects such a cluster; without a network policy it
    lowercases the group name into pod names, so `GPU-Group` is accepted there.

    Fails:
        spec:
          networkPolicy: {}
          workerGroupSpecs:
          - groupName: GPU_A100

    Instead:
        spec:
          networkPolicy: {}
          workerGroupSpecs:
          - groupName: gpu-a100
    """
    if cluster.spec.get("networkPolicy") is None:
        return
    for group in cluster.workers:
        name = group.spec.get("groupName")
        if not isinstance(name, str):
            continue
        problem = dns1123_label_problem(name)
        if problem:
            yield Problem(
                (*group.path, "groupName"),
                f"worker group name {name!r} {problem}, which spec.networkPolicy requires (it names a NetworkPolicy); "
                "rename the group",
            )


@rule("ray-container-missing", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def ray_container_missing(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """The head and every worker template have a container; the first one runs Ray.

    Why: KubeRay runs Ray in the first container of each template; KubeRay v1.7.0's RayCluster validation
    (validation.go) rejects a head or worker template without containers, so the operator records an
    InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        workerGroupSpecs:
          - groupName: cpu
            template: {spec: {containers: []}}

    Instead:
        workerGroupSpecs:
          - groupName: cpu
            template: {spec: {containers: [{name: ray-worker, image: 'rayproject/ray:2.60.0-py311'}]}}
    """
    for group in cluster.groups:
        if group.ray_container is None:
            yield Problem(
                (*group.pod_path, "containers"),
                f"{group.label} has no container; add the Ray container as the first entry of template.spec.containers",
            )


@rule("worker-replicas-range", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def worker_replicas_range(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """Worker group minReplicas and maxReplicas are not negative and minReplicas <= maxReplicas.

    Why: KubeRay v1.7.0's RayCluster validation (validation.go) rejects negative minReplicas or maxReplicas and
    minReplicas above maxReplicas, so the operator records an InvalidRayClusterSpec event and creates no pods (a RayJob
    goes to ValidationFailed, a RayService is not ready).

    Fails:
        workerGroupSpecs:
          - groupName: cpu
            minReplicas: 3
            maxReplicas: 2

    Instead:
        workerGroupSpecs:
          - groupName: cpu
            minReplicas: 2
            maxReplicas: 2
    """
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
    """A group sets Ray resources either in `resources` or in rayStartParams, not both.

    Why: a group's Ray resources can be given in its `resources` field or in rayStartParams (num-cpus, num-gpus, memory,
    resources), and KubeRay v1.7.0's RayCluster validation (validation.go) rejects both at once, so the operator records
    an InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        workerGroupSpecs:
          - groupName: cpu
            resources: {CPU: '2'}
            rayStartParams: {num-cpus: '2'}

    Instead:
        workerGroupSpecs:
          - groupName: cpu
            resources: {CPU: '2'}
    """
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
    """rayStartParams has no `labels` entry; Ray node labels go in the group's `labels` field.

    Why: KubeRay v1.7.0's RayCluster validation (validation.go) rejects rayStartParams.labels; Ray node labels go in the
    group's top-level `labels`, which KubeRay passes to Ray itself. Until then the operator records an
    InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        headGroupSpec:
          rayStartParams: {labels: 'zone=a'}

    Instead:
        headGroupSpec:
          labels: {zone: a}
    """
    for group in cluster.groups:
        if "labels" in group.ray_start_params:
            yield Problem(
                (*group.path, "rayStartParams", "labels"),
                f"{group.label} sets rayStartParams.labels, which KubeRay rejects; move the labels to the group's labels field",
            )


@rule("group-labels-invalid", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def group_labels_invalid(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """A group's Ray node `labels` have valid Kubernetes label keys and values.

    Why: KubeRay v1.7.0's RayCluster validation (validation.go) checks a group's Ray node labels with Kubernetes' label
    rules (qualified-name keys, label values of at most 63 characters that start and end alphanumeric) and rejects the
    cluster otherwise, so the operator records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to
    ValidationFailed, a RayService is not ready).

    Fails:
        workerGroupSpecs:
          - groupName: gpu
            labels: {accelerator: -a100-}

    Instead:
        workerGroupSpecs:
          - groupName: gpu
            labels: {ray.io/accelerator: a100}
    """
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
    """A worker group's idleTimeoutSeconds is not negative and is used only with autoscaler v2.

    Why: KubeRay v1.7.0's RayCluster validation (validation.go) rejects a negative idleTimeoutSeconds on a worker group
    and accepts the field only when the cluster runs autoscaler v2, the only autoscaler that reads per-group idle
    timeouts; otherwise the operator records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to
    ValidationFailed, a RayService is not ready).

    Fails:
        enableInTreeAutoscaling: true
        workerGroupSpecs:
          - groupName: cpu
            idleTimeoutSeconds: 60

    Instead:
        enableInTreeAutoscaling: true
        autoscalerOptions: {version: v2}
        workerGroupSpecs:
          - groupName: cpu
            idleTimeoutSeconds: 60
    """
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
    """A non-zero worker group priority needs rayVersion >= 2.56.0 and autoscaler v2.

    Why: KubeRay v1.7.0's RayCluster validation (validation.go) accepts a non-zero worker group priority only with Ray
    2.56.0 or later and autoscaler v2, which is what picks groups by priority when it scales up; otherwise the operator
    records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not
    ready).

    Fails:
        enableInTreeAutoscaling: true
        workerGroupSpecs:
          - groupName: cpu
            priority: 10

    Instead:
        enableInTreeAutoscaling: true
        autoscalerOptions: {version: v2}
        workerGroupSpecs:
          - groupName: cpu
            priority: 10
    """
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
    """A worker group is not suspended while in-tree autoscaling is enabled.

    Why: the autoscaler would start the pods of a suspended group again, so KubeRay v1.7.0's RayCluster validation
    (validation.go) rejects suspend on a worker group while enableInTreeAutoscaling is true, and the operator records an
    InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        enableInTreeAutoscaling: true
        workerGroupSpecs:
          - groupName: cpu
            suspend: true

    Instead:
        workerGroupSpecs:
          - groupName: cpu
            suspend: true
    """
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
    """RAY_enable_autoscaler_v2 is not turned on in the head unless enableInTreeAutoscaling is true.

    Why: RAY_enable_autoscaler_v2 on the head selects autoscaler v2, which runs only as KubeRay's autoscaler sidecar;
    KubeRay v1.7.0's RayCluster validation (validation.go) rejects the variable turned on without
    enableInTreeAutoscaling: true, so the operator records an InvalidRayClusterSpec event and creates no pods (a RayJob
    goes to ValidationFailed, a RayService is not ready).

    Fails:
        headGroupSpec:
          template:
            spec:
              containers:
                - name: ray-head
                  env: [{name: RAY_enable_autoscaler_v2, value: '1'}]

    Instead:
        enableInTreeAutoscaling: true
        headGroupSpec:
          template:
            spec:
              containers:
                - name: ray-head
                  env: [{name: RAY_enable_autoscaler_v2, value: '1'}]
    """
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
    """The autoscaler version is chosen with autoscalerOptions.version only, not also with the head env.

    Why: autoscalerOptions.version is how KubeRay chooses the autoscaler; KubeRay v1.7.0's RayCluster validation
    (validation.go) rejects a cluster that also sets RAY_enable_autoscaler_v2 on the head, since the two could disagree,
    so the operator records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a
    RayService is not ready).

    Fails:
        enableInTreeAutoscaling: true
        autoscalerOptions: {version: v2}
        headGroupSpec:
          template:
            spec:
              containers:
                - name: ray-head
                  env: [{name: RAY_enable_autoscaler_v2, value: 'true'}]

    Instead:
        enableInTreeAutoscaling: true
        autoscalerOptions: {version: v2}
    """
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
    """With autoscaler v2, Ray pods have restartPolicy Never or unset (v2 replaces failed pods itself).

    Why: autoscaler v2 replaces failed Ray pods itself, and a pod the kubelet restarts in place confuses it, so KubeRay
    v1.7.0's RayCluster validation (validation.go) needs restartPolicy Never or unset on the head and every worker group
    with v2; otherwise the operator records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to
    ValidationFailed, a RayService is not ready).

    Fails:
        enableInTreeAutoscaling: true
        autoscalerOptions: {version: v2}
        headGroupSpec:
          template:
            spec:
              restartPolicy: Always

    Instead:
        enableInTreeAutoscaling: true
        autoscalerOptions: {version: v2}
        headGroupSpec:
          template:
            spec:
              restartPolicy: Never
    """
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
    """autoscalerOptions.env does not set KUBERAY_GEN_AUTOSCALER_START_CMD, which KubeRay injects.

    Why: KubeRay writes KUBERAY_GEN_AUTOSCALER_START_CMD into the autoscaler container to start it; KubeRay v1.7.0's
    RayCluster validation (validation.go) rejects autoscalerOptions.env that sets it, so the operator records an
    InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        enableInTreeAutoscaling: true
        autoscalerOptions:
          env: [{name: KUBERAY_GEN_AUTOSCALER_START_CMD, value: x}]

    Instead:
        enableInTreeAutoscaling: true
        autoscalerOptions:
          env: [{name: LOG_LEVEL, value: debug}]
    """
    found = env_var(cluster.autoscaler_options, "KUBERAY_GEN_AUTOSCALER_START_CMD")
    if found is not None:
        yield Problem(
            (*cluster.path, "autoscalerOptions", "env", found[0]),
            "autoscalerOptions.env sets KUBERAY_GEN_AUTOSCALER_START_CMD, which KubeRay manages; remove it",
        )


@rule("autoscaler-idle-timeout", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def autoscaler_idle_timeout(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """autoscalerOptions.idleTimeoutSeconds is not negative.

    Why: KubeRay v1.7.0's RayCluster validation (validation.go) rejects a negative autoscalerOptions.idleTimeoutSeconds
    (how long a worker may idle before the autoscaler removes it), so the operator records an InvalidRayClusterSpec
    event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        enableInTreeAutoscaling: true
        autoscalerOptions: {idleTimeoutSeconds: -5}

    Instead:
        enableInTreeAutoscaling: true
        autoscalerOptions: {idleTimeoutSeconds: 0}
    """
    value = integer(cluster.autoscaler_options.get("idleTimeoutSeconds"))
    if value is not None and value < 0:
        yield Problem(
            (*cluster.path, "autoscalerOptions", "idleTimeoutSeconds"),
            f"autoscalerOptions.idleTimeoutSeconds is {value}; set it to 0 or more",
        )


# --- GCS fault tolerance ------------------------------------------------------------------


@rule("gcs-ft-annotation-and-options", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def ft_annotation_and_options(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """GCS fault tolerance is configured with gcsFaultToleranceOptions, not also the ray.io/ft-enabled annotation.

    Why: the ray.io/ft-enabled annotation is the old way to turn on GCS fault tolerance; KubeRay v1.7.0's RayCluster
    validation (validation.go) rejects it together with gcsFaultToleranceOptions, so the operator records an
    InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        kind: RayCluster
        metadata:
          annotations: {ray.io/ft-enabled: 'true'}
        spec:
          gcsFaultToleranceOptions: {redisAddress: 'redis:6379'}

    Instead:
        kind: RayCluster
        spec:
          gcsFaultToleranceOptions: {redisAddress: 'redis:6379'}
    """
    if cluster.ft_options is not None and cluster.document.annotations.get("ray.io/ft-enabled"):
        yield Problem(
            ("metadata", "annotations", "ray.io/ft-enabled"),
            "both the ray.io/ft-enabled annotation and gcsFaultToleranceOptions are set; remove the annotation",
        )


@rule("gcs-ft-redis-address-without-ft", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def redis_address_without_ft(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """The head sets RAY_REDIS_ADDRESS only when GCS fault tolerance is enabled.

    Why: RAY_REDIS_ADDRESS on the head implicitly turns on GCS fault tolerance, which KubeRay has not set up; KubeRay
    v1.7.0's RayCluster validation (validation.go) rejects it when fault tolerance is not enabled, so the operator
    records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not
    ready).

    Fails:
        headGroupSpec:
          template:
            spec:
              containers:
                - name: ray-head
                  env: [{name: RAY_REDIS_ADDRESS, value: 'redis:6379'}]

    Instead:
        gcsFaultToleranceOptions:
          redisAddress: 'redis:6379'
    """
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
    """With gcsFaultToleranceOptions, Redis address, password and namespace are set there, not in params, env or annotations.

    Why: with gcsFaultToleranceOptions, KubeRay sets the Redis address, password and storage namespace on the head
    itself; KubeRay v1.7.0's RayCluster validation (validation.go) rejects rayStartParams redis-password, head env
    REDIS_PASSWORD or RAY_REDIS_ADDRESS and the ray.io/external-storage-namespace annotation next to it, so the operator
    records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not
    ready).

    Fails:
        gcsFaultToleranceOptions: {redisAddress: 'redis:6379'}
        headGroupSpec:
          template:
            spec:
              containers:
                - name: ray-head
                  env: [{name: REDIS_PASSWORD, valueFrom: {secretKeyRef: {name: r, key: p}}}]

    Instead:
        gcsFaultToleranceOptions:
          redisAddress: 'redis:6379'
          redisPassword: {valueFrom: {secretKeyRef: {name: r, key: p}}}
    """
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
    """The Redis username is never set in rayStartParams or head env; use gcsFaultToleranceOptions.redisUsername.

    Why: KubeRay v1.7.0's RayCluster validation (validation.go) rejects a Redis username in rayStartParams
    (redis-username) or head env (REDIS_USERNAME) on any cluster; it belongs in gcsFaultToleranceOptions.redisUsername.
    Until then the operator records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to
    ValidationFailed, a RayService is not ready).

    Fails:
        headGroupSpec:
          rayStartParams: {redis-username: ray}

    Instead:
        gcsFaultToleranceOptions:
          redisAddress: 'redis:6379'
          redisUsername: {value: ray}
    """
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
    """The rocksdb backend has no Redis settings and no KubeRay-managed env; the redis backend has no storage.

    Why: KubeRay v1.7.0's RayCluster validation (validateGcsFaultToleranceBackend in validation.go) rejects Redis
    settings with the embedded rocksdb backend, a storage claimName next to size, storageClassName or accessModes, head
    env and the gcs-storage volume that KubeRay manages for rocksdb, and storage with the redis backend; the operator
    records an InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not
    ready).

    Fails:
        gcsFaultToleranceOptions:
          backend: rocksdb
          redisAddress: 'redis:6379'

    Instead:
        gcsFaultToleranceOptions:
          backend: rocksdb
          storage: {size: 1Gi}
    """
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
            if isinstance(entry, dict) and entry.get("name") in ("RAY_gcs_storage", "RAY_gcs_storage_path"):
                yield Problem(
                    (*cluster.head.ray_container_path, "env", index),
                    f"head env {entry['name']} is managed by KubeRay for the rocksdb backend; remove it",
                )
        # KubeRay adds its own volume gcs-storage at /data/gcs to the head for rocksdb.
        for index, mount in enumerate(dig(cluster.head.ray_container, "volumeMounts") or []):
            if isinstance(mount, dict) and (
                mount.get("name") == "gcs-storage" or mount.get("mountPath") == "/data/gcs"
            ):
                yield Problem(
                    (*cluster.head.ray_container_path, "volumeMounts", index),
                    "the volume mount gcs-storage at /data/gcs is managed by KubeRay for the rocksdb backend; rename it or mount elsewhere",
                )
        for index, volume in enumerate(dig(cluster.head.pod_spec, "volumes") or []):
            if isinstance(volume, dict) and volume.get("name") == "gcs-storage":
                yield Problem(
                    (*cluster.head.pod_path, "volumes", index),
                    "the volume gcs-storage is managed by KubeRay for the rocksdb backend; rename it",
                )
    elif options.get("storage") is not None:
        yield Problem(
            (*base, "storage"),
            "gcsFaultToleranceOptions.storage only applies to backend: rocksdb; remove it or set backend: rocksdb",
        )


# --- authentication -----------------------------------------------------------------------


@rule("token-auth-ray-version", kinds=RAY_KINDS, subject=Subject.RAY_CLUSTER)
def token_auth_ray_version(cluster: ClusterSpec, bundle: Bundle) -> Iterator[Problem]:
    """authOptions.mode token needs rayVersion 2.52.0 or later.

    Why: Ray supports token authentication from 2.52.0 on; KubeRay v1.7.0's RayCluster validation (validation.go)
    rejects authOptions.mode: token with an older or missing rayVersion, so the operator records an
    InvalidRayClusterSpec event and creates no pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        rayVersion: '2.51.0'
        authOptions: {mode: token}

    Instead:
        rayVersion: '2.60.0'
        authOptions: {mode: token}
    """
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
    """enableK8sTokenAuth needs token mode, Ray >= 2.55.0, no secretName, and a RayCluster (not a RayJob or RayService).

    Why: KubeRay v1.7.0's validation (validation.go) accepts enableK8sTokenAuth only with authOptions.mode: token,
    Ray 2.55.0 or later and no secretName, and rejects it in a RayJob or RayService outright; the resource is then
    never reconciled (a RayService is not ready, a RayJob goes to ValidationFailed).

    Fails:
        kind: RayService
        spec:
          rayClusterConfig:
            authOptions: {mode: token, enableK8sTokenAuth: true}

    Instead:
        kind: RayCluster
        spec:
          rayVersion: '2.60.0'
          authOptions: {mode: token, enableK8sTokenAuth: true}
    """
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
    """A RayCluster's upgradeStrategy.type is Recreate or None, and only a standalone RayCluster sets it.

    Why: a RayJob or RayService manages its own cluster's upgrades, so KubeRay v1.7.0's RayCluster validation
    (ValidateRayClusterUpgradeOptions in validation.go) rejects upgradeStrategy on a cluster they create, and accepts
    only Recreate or None on a standalone RayCluster; the operator records an InvalidRayClusterSpec event and creates no
    pods (a RayJob goes to ValidationFailed, a RayService is not ready).

    Fails:
        kind: RayJob
        spec:
          rayClusterSpec:
            upgradeStrategy: {type: Recreate}

    Instead:
        kind: RayCluster
        spec:
          upgradeStrategy: {type: Recreate}
    """
    strategy = cluster.spec.get("upgradeStrategy")
    if not isinstance(strategy, dict) or strategy.get("type") is None:
        return
    path = (*cluster.path, "upgradeStrategy", "type")
    document = cluster.document
    creator = text(document.labels.get(ORIGINATED_FROM_CRD)) if document.kind == "RayCluster" else document.kind
    if creator in ("RayJob", "RayService"):
        yield Problem(
            path,
            f"upgradeStrategy is rejected on a RayCluster created by a {creator}; remove it (the {creator} manages upgrades)",
        )
    elif strategy.get("type") not in ("Recreate", "None"):
        yield Problem(
            path,
            f"upgradeStrategy.type {strategy.get('type')!r} is not Recreate or None; use Recreate so spec changes reach running pods",
        )
