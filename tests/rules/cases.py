"""One passing and one failing fixture per rule, keyed by rule id.

Each fixture is a small YAML stream built from flow-style snippets. The failing
one must produce a finding of that rule at `path` whose message contains
`message`; the passing one, which differs only in the point the rule is about,
must produce no finding of that rule.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    passing: str
    failing: str
    path: str
    message: str


def cluster(spec: str, *, kind: str = "RayCluster", name: str = "rc", annotations: str = "{}") -> str:
    """A RayCluster (or a RayJob/RayService embedding the spec) whose RayClusterSpec is `spec`."""
    field = {"RayCluster": None, "RayJob": "rayClusterSpec", "RayService": "rayClusterConfig"}[kind]
    body = spec if field is None else "{" + field + ": " + spec + "}"
    return (f"apiVersion: ray.io/v1\nkind: {kind}\n"
            f"metadata: {{name: {name}, annotations: {annotations}}}\nspec: {body}\n")


HEAD = "{template: {spec: {containers: [{name: head, image: 'rayproject/ray:2.60.0-py311'}]}}}"


def head(container: str = "", pod: str = "", group: str = "") -> str:
    """A headGroupSpec; the arguments are extra flow-style fields of the container, the pod spec and the group."""
    return ("{" + (group + ", " if group else "")
            + "template: {spec: {containers: [{name: head, image: 'rayproject/ray:2.60.0-py311'"
            + (", " + container if container else "") + "}]"
            + (", " + pod if pod else "") + "}}}")


def worker(name: str = "cpu", group: str = "", container: str = "", pod: str = "") -> str:
    return ("{groupName: " + name + (", " + group if group else "")
            + ", template: {spec: {containers: [{name: w, image: 'rayproject/ray:2.60.0-py311'"
            + (", " + container if container else "") + "}]"
            + (", " + pod if pod else "") + "}}}")


def workers_list(*groups: str) -> str:
    return "[" + ", ".join(groups) + "]"


def spec(*fields: str, head_group: str = HEAD, workers: str = "[]") -> str:
    extra = "".join(", " + f for f in fields)
    return "{rayVersion: '2.60.0', headGroupSpec: " + head_group + ", workerGroupSpecs: " + workers + extra + "}"


def job(fields: str, *, name: str = "job", cluster_spec: str | None = None, kind: str = "RayJob") -> str:
    """A RayJob (or a RayCronJob's job template) with `fields` and a rayClusterSpec ('' for none)."""
    embedded = "" if cluster_spec == "" else ", rayClusterSpec: " + (cluster_spec or spec())
    body = "{" + fields + embedded + "}"
    if kind == "RayCronJob":
        return (f"apiVersion: ray.io/v1\nkind: RayCronJob\nmetadata: {{name: {name}}}\n"
                f"spec: {{schedule: '0 3 * * *', jobTemplate: {body}}}\n")
    return f"apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {{name: {name}}}\nspec: {body}\n"


def service(serve_config: str, *, cluster_config: str | None = None, extra: str = "", annotations: str = "{}") -> str:
    """A RayService; serve_config is the serveConfigV2 text, extra more spec lines."""
    indented = "\n".join("    " + line for line in serve_config.strip().splitlines())
    return (f"apiVersion: ray.io/v1\nkind: RayService\nmetadata: {{name: svc, annotations: {annotations}}}\nspec:\n"
            f"  rayClusterConfig: {cluster_config or spec()}\n{extra}  serveConfigV2: |\n{indented}\n")


SERVE_OK = "applications:\n  - name: app\n    route_prefix: /app\n    import_path: app:deployment\n"


def deployment(pod: str) -> str:
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
            "spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: " + pod + "}}\n")


SAFE_CONTAINER = ("{name: app, image: 'nginx:1.27', resources: {limits: {cpu: 100m, memory: 64Mi}}, "
                  "securityContext: {allowPrivilegeEscalation: false}}")
SAFE_POD = "{securityContext: {runAsNonRoot: true}, containers: [" + SAFE_CONTAINER + "]}"

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: code}\ndata: {train.py: 'print(1)', app.py: 'x = 1'}\n"

CODE_ON_HEAD = head("env: [{name: PYTHONPATH, value: /code}], volumeMounts: [{name: code, mountPath: /code}]",
                    "volumes: [{name: code, configMap: {name: code}}]")
SCRIPT_ON_HEAD = head("volumeMounts: [{name: code, mountPath: /home/ray/code}]", "volumes: [{name: code, configMap: {name: code}}]")


def k8s(kind: str, api: str, body: str, name: str = "x") -> str:
    return f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}}}\n{body}\n"


def stream(*documents: str) -> str:
    return "---\n".join(documents)


def ingress_to(service_name: str, port: str) -> str:
    return k8s("Ingress", "networking.k8s.io/v1",
               "spec: {rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: "
               + service_name + ", port: " + port + "}}}]}}]}")


def ray_service_k8s(selector: str, ports: str, service_type: str = "ClusterIP") -> str:
    return k8s("Service", "v1", "spec: {type: " + service_type + ", selector: " + selector + ", ports: " + ports + "}", name="dash")


def ingress_with(annotations: str) -> str:
    """An Ingress to the dashboard Service `dash` (see ray_service_k8s) carrying these annotations."""
    return ingress_to("dash", "{number: 80}").replace("metadata: {name: x}", "metadata: {name: x, annotations: " + annotations + "}")


DASHBOARD_HEAD = head("ports: [{name: dashboard, containerPort: 8265}]")
GPU_1 = "resources: {limits: {nvidia.com/gpu: 1}, requests: {nvidia.com/gpu: 1}}"

def operator_gates(**gates: bool) -> str:
    """An Argo CD Application installing the kuberay-operator chart with these featureGates values."""
    entries = ", ".join(f"{{name: {name}, enabled: {str(on).lower()}}}" for name, on in gates.items())
    return k8s("Application", "argoproj.io/v1alpha1",
               "spec: {project: default, destination: {server: 'https://kubernetes.default.svc'}, source: {repoURL: "
               "'https://ray-project.github.io/kuberay-helm/', chart: kuberay-operator, targetRevision: 1.7.0, "
               "helm: {valuesObject: {featureGates: [" + entries + "]}}}}", name="kuberay-operator")


HISTORY_ENV = "[{name: STORAGE_BACKEND, value: S3}, {name: S3_REGION, value: us-east-1}]"

CASES: dict[str, Case] = {
    # --- operator: names ---------------------------------------------------------------------------
    "ray-name-too-long": Case(
        passing=cluster(spec(), name="a" * 53),
        failing=cluster(spec(), name="a" * 54),
        path="/metadata/name", message="shorten it to at most 53",
    ),
    "ray-name-dns1035": Case(
        passing=job("entrypoint: x", name="train-2"),
        failing=job("entrypoint: x", name="2-train"),
        path="/metadata/name", message="DNS-1035",
    ),
    # --- operator: groups --------------------------------------------------------------------------
    "worker-group-name-unique": Case(
        passing=cluster(spec(workers=workers_list(worker("a"), worker("b")))),
        failing=cluster(spec(workers=workers_list(worker("a"), worker("a")))),
        path="/spec/workerGroupSpecs/1/groupName", message="used twice",
    ),
    "worker-group-name-dns1123": Case(
        passing=cluster(spec("networkPolicy: {}", workers=workers_list(worker("gpu-a100")))),
        failing=cluster(spec("networkPolicy: {}", workers=workers_list(worker("GPU_A100")))),
        path="/spec/workerGroupSpecs/0/groupName", message="rename the group",
    ),
    "ray-container-missing": Case(
        passing=cluster(spec(workers=workers_list(worker()))),
        failing=cluster(spec(workers="[{groupName: cpu, template: {spec: {containers: []}}}]")),
        path="/spec/workerGroupSpecs/0/template/spec/containers", message="add the Ray container",
    ),
    "worker-replicas-range": Case(
        passing=cluster(spec(workers=workers_list(worker(group="minReplicas: 2, maxReplicas: 2")))),
        failing=cluster(spec(workers=workers_list(worker(group="minReplicas: 3, maxReplicas: 2")))),
        path="/spec/workerGroupSpecs/0/minReplicas", message="greater than maxReplicas 2",
    ),
    "group-resources-conflict": Case(
        passing=cluster(spec(workers=workers_list(worker(group="resources: {CPU: '2'}")))),
        failing=cluster(spec(workers=workers_list(worker(group="resources: {CPU: '2'}, rayStartParams: {num-cpus: '2'}")))),
        path="/spec/workerGroupSpecs/0/resources", message="keep only one",
    ),
    "ray-start-params-labels": Case(
        passing=cluster(spec(head_group=head(group="labels: {zone: a}"))),
        failing=cluster(spec(head_group=head(group="rayStartParams: {labels: 'zone=a'}"))),
        path="/spec/headGroupSpec/rayStartParams/labels", message="move the labels",
    ),
    "group-labels-invalid": Case(
        passing=cluster(spec(workers=workers_list(worker(group="labels: {ray.io/accelerator: a100}")))),
        failing=cluster(spec(workers=workers_list(worker(group="labels: {accelerator: -a100-}")))),
        path="/spec/workerGroupSpecs/0/labels/accelerator", message="fix the value",
    ),
    "worker-idle-timeout": Case(
        passing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {version: v2}",
                             workers=workers_list(worker(group="idleTimeoutSeconds: 60")))),
        failing=cluster(spec("enableInTreeAutoscaling: true", workers=workers_list(worker(group="idleTimeoutSeconds: 60")))),
        path="/spec/workerGroupSpecs/0/idleTimeoutSeconds", message="set autoscalerOptions.version: v2",
    ),
    "worker-priority": Case(
        passing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {version: v2}",
                             workers=workers_list(worker(group="priority: 10")))),
        failing=cluster(spec("enableInTreeAutoscaling: true", workers=workers_list(worker(group="priority: 10")))),
        path="/spec/workerGroupSpecs/0/priority", message="only autoscaler v2",
    ),
    "worker-group-suspend-autoscaling": Case(
        passing=cluster(spec(workers=workers_list(worker(group="suspend: true")))),
        failing=cluster(spec("enableInTreeAutoscaling: true", workers=workers_list(worker(group="suspend: true")))),
        path="/spec/workerGroupSpecs/0/suspend", message="remove suspend",
    ),
    # --- operator: autoscaler ------------------------------------------------------------------------
    "autoscaler-v2-env-without-autoscaling": Case(
        passing=cluster(spec("enableInTreeAutoscaling: true", head_group=head("env: [{name: RAY_enable_autoscaler_v2, value: '1'}]"))),
        failing=cluster(spec(head_group=head("env: [{name: RAY_enable_autoscaler_v2, value: '1'}]"))),
        path="/spec/headGroupSpec/template/spec/containers/0/env/0", message="set enableInTreeAutoscaling: true",
    ),
    "autoscaler-version-and-env": Case(
        passing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {version: v2}")),
        failing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {version: v2}",
                             head_group=head("env: [{name: LOG_LEVEL, value: debug}, {name: RAY_enable_autoscaler_v2, value: 'true'}]"))),
        path="/spec/headGroupSpec/template/spec/containers/0/env/1", message="remove the env variable",
    ),
    "autoscaler-v2-restart-policy": Case(
        passing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {version: v2}", head_group=head(pod="restartPolicy: Never"))),
        failing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {version: v2}", head_group=head(pod="restartPolicy: Always"))),
        path="/spec/headGroupSpec/template/spec/restartPolicy", message="needs Never",
    ),
    "autoscaler-managed-env": Case(
        passing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {env: [{name: LOG_LEVEL, value: debug}]}")),
        failing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {env: [{name: KUBERAY_GEN_AUTOSCALER_START_CMD, value: x}]}")),
        path="/spec/autoscalerOptions/env/0", message="KubeRay manages",
    ),
    "autoscaler-idle-timeout": Case(
        passing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {idleTimeoutSeconds: 0}")),
        failing=cluster(spec("enableInTreeAutoscaling: true", "autoscalerOptions: {idleTimeoutSeconds: -5}")),
        path="/spec/autoscalerOptions/idleTimeoutSeconds", message="set it to 0 or more",
    ),
    # --- operator: GCS fault tolerance ---------------------------------------------------------------
    "gcs-ft-annotation-and-options": Case(
        passing=cluster(spec("gcsFaultToleranceOptions: {redisAddress: 'redis:6379'}")),
        failing=cluster(spec("gcsFaultToleranceOptions: {redisAddress: 'redis:6379'}"), annotations="{ray.io/ft-enabled: 'true'}"),
        path="/metadata/annotations/ray.io~1ft-enabled", message="remove the annotation",
    ),
    "gcs-ft-redis-address-without-ft": Case(
        passing=cluster(spec(head_group=head("env: [{name: RAY_REDIS_ADDRESS, value: 'redis:6379'}]")), annotations="{ray.io/ft-enabled: 'true'}"),
        failing=cluster(spec(head_group=head("env: [{name: RAY_REDIS_ADDRESS, value: 'redis:6379'}]"))),
        path="/spec/headGroupSpec/template/spec/containers/0/env/0", message="gcsFaultToleranceOptions.redisAddress",
    ),
    "gcs-ft-managed-settings": Case(
        passing=cluster(spec("gcsFaultToleranceOptions: {redisAddress: 'redis:6379', redisPassword: {valueFrom: {secretKeyRef: {name: r, key: p}}}}")),
        failing=cluster(spec("gcsFaultToleranceOptions: {redisAddress: 'redis:6379'}",
                             head_group=head("env: [{name: REDIS_PASSWORD, valueFrom: {secretKeyRef: {name: r, key: p}}}]"))),
        path="/spec/headGroupSpec/template/spec/containers/0/env/0", message="gcsFaultToleranceOptions.redisPassword",
    ),
    "redis-username-forbidden": Case(
        passing=cluster(spec("gcsFaultToleranceOptions: {redisAddress: 'redis:6379', redisUsername: {value: ray}}")),
        failing=cluster(spec(head_group=head(group="rayStartParams: {redis-username: ray}"))),
        path="/spec/headGroupSpec/rayStartParams/redis-username", message="gcsFaultToleranceOptions.redisUsername",
    ),
    "gcs-ft-backend": Case(
        passing=cluster(spec("gcsFaultToleranceOptions: {backend: rocksdb, storage: {size: 1Gi}}")),
        failing=cluster(spec("gcsFaultToleranceOptions: {backend: rocksdb, redisAddress: 'redis:6379'}")),
        path="/spec/gcsFaultToleranceOptions/redisAddress", message="does not apply to the rocksdb backend",
    ),
    # --- operator: authentication and upgrades ---------------------------------------------------------
    "token-auth-ray-version": Case(
        passing=cluster(spec("authOptions: {mode: token}")),
        failing=cluster(spec("authOptions: {mode: token}").replace("'2.60.0'", "'2.51.0'")),
        path="/spec/rayVersion", message="set rayVersion to 2.52.0 or later",
    ),
    "k8s-token-auth": Case(
        passing=cluster(spec("authOptions: {mode: token, enableK8sTokenAuth: true}")),
        failing=cluster(spec("authOptions: {mode: token, enableK8sTokenAuth: true}"), kind="RayService"),
        path="/spec/rayClusterConfig/authOptions/enableK8sTokenAuth", message="not supported for RayService",
    ),
    "cluster-upgrade-strategy": Case(
        passing=cluster(spec("upgradeStrategy: {type: Recreate}")),
        failing=job("entrypoint: x", cluster_spec=spec("upgradeStrategy: {type: Recreate}")),
        path="/spec/rayClusterSpec/upgradeStrategy/type", message="created by a RayJob",
    ),
    # --- operator: feature gates ----------------------------------------------------------------------
    "feature-gate-disabled": Case(
        passing=stream(cluster(spec("networkPolicy: {mode: DenyAll}")), operator_gates(RayClusterNetworkPolicy=True)),
        failing=cluster(spec("networkPolicy: {mode: DenyAll}")),
        path="/spec/networkPolicy", message="RayClusterNetworkPolicy feature gate is off",
    ),
    "network-policy-config": Case(
        passing=stream(cluster(spec("networkPolicy: {mode: DenyAll, head: {ingressRules: [{}]}}")), operator_gates(RayClusterNetworkPolicy=True)),
        failing=stream(cluster(spec("networkPolicy: {mode: DenyAllEgress, head: {ingressRules: [{}]}}")), operator_gates(RayClusterNetworkPolicy=True)),
        path="/spec/networkPolicy/head/ingressRules", message="cannot be set when mode is DenyAllEgress",
    ),
    "tls-options-managed": Case(
        passing=stream(cluster(spec("tlsOptions: {enabled: true}")), operator_gates(RayClusterMTLS=True)),
        failing=stream(cluster(spec("tlsOptions: {enabled: true}", head_group=head("env: [{name: RAY_USE_TLS, value: '1'}]"))),
                       operator_gates(RayClusterMTLS=True)),
        path="/spec/headGroupSpec/template/spec/containers/0/env/0/name", message="managed by KubeRay",
    ),
    "history-server-options": Case(
        passing=stream(cluster(spec("historyServerOptions: {collectorOptions: {image: 'collector:1.0', env: " + HISTORY_ENV + "}}")),
                       operator_gates(RayClusterHistoryServer=True)),
        failing=stream(cluster(spec("historyServerOptions: {collectorOptions: {image: 'collector:1.0', env: [{name: STORAGE_BACKEND, value: S3}]}}")),
                       operator_gates(RayClusterHistoryServer=True)),
        path="/spec/historyServerOptions/collectorOptions/env", message="needs S3_REGION",
    ),
    # --- operator: RayJob ------------------------------------------------------------------------------
    "rayjob-cluster-source": Case(
        passing=job("entrypoint: x, clusterSelector: {ray.io/cluster: rc}", cluster_spec=""),
        failing=job("entrypoint: x, clusterSelector: {team: ml}", cluster_spec=""),
        path="/spec/clusterSelector", message="ray.io/cluster",
    ),
    "rayjob-selector-overrides-spec": Case(
        passing=job("entrypoint: x"),
        failing=job("entrypoint: x, clusterSelector: {ray.io/cluster: rc}"),
        path="/spec/rayClusterSpec", message="ignores rayClusterSpec",
    ),
    "rayjob-suspend": Case(
        passing=job("entrypoint: x, suspend: true, shutdownAfterJobFinishes: true"),
        failing=job("entrypoint: x, suspend: true"),
        path="/spec/suspend", message="shutdownAfterJobFinishes: true",
    ),
    "rayjob-ttl-needs-shutdown": Case(
        passing=job("entrypoint: x, ttlSecondsAfterFinished: 60, shutdownAfterJobFinishes: true"),
        failing=job("entrypoint: x, ttlSecondsAfterFinished: 60"),
        path="/spec/ttlSecondsAfterFinished", message="shutdownAfterJobFinishes: true",
    ),
    "rayjob-deadlines": Case(
        passing=job("entrypoint: x, activeDeadlineSeconds: 600, backoffLimit: 0"),
        failing=job("entrypoint: x, activeDeadlineSeconds: 0"),
        path="/spec/activeDeadlineSeconds", message="positive number of seconds",
    ),
    "rayjob-backoff-limit-mode": Case(
        passing=job("entrypoint: x, submissionMode: K8sJobMode, backoffLimit: 2"),
        failing=job("entrypoint: x, submissionMode: InteractiveMode, backoffLimit: 2"),
        path="/spec/backoffLimit", message="InteractiveMode",
    ),
    "rayjob-sidecar-mode": Case(
        passing=job("entrypoint: x, submissionMode: SidecarMode"),
        failing=job("entrypoint: x, submissionMode: SidecarMode, submitterConfig: {backoffLimit: 1}"),
        path="/spec/submitterConfig", message="SidecarMode does not support submitterConfig",
    ),
    "rayjob-submission-mode-unknown": Case(
        passing=job("entrypoint: x, submissionMode: HTTPMode"),
        failing=job("entrypoint: x, submissionMode: K8sMode"),
        path="/spec/submissionMode", message="use one of K8sJobMode",
    ),
    "rayjob-runtime-env-yaml": Case(
        passing=job("entrypoint: x, runtimeEnvYAML: 'pip: [requests]'"),
        failing=job("entrypoint: x, runtimeEnvYAML: 'pip: [requests'"),
        path="/spec/runtimeEnvYAML", message="not valid YAML",
    ),
    "rayjob-deletion-legacy": Case(
        passing=job("entrypoint: x, deletionStrategy: {onSuccess: {policy: DeleteCluster}, onFailure: {policy: DeleteNone}}"),
        failing=job("entrypoint: x, shutdownAfterJobFinishes: true, deletionStrategy: {onSuccess: {policy: DeleteCluster}, onFailure: {policy: DeleteNone}}"),
        path="/spec/deletionStrategy/onFailure/policy", message="contradicts shutdownAfterJobFinishes",
    ),
    "rayjob-deletion-rules": Case(
        passing=job("entrypoint: x, deletionStrategy: {deletionRules: [{policy: DeleteCluster, condition: {jobStatus: SUCCEEDED, ttlSeconds: 60}}]}"),
        failing=job("entrypoint: x, shutdownAfterJobFinishes: true, deletionStrategy: {deletionRules: [{policy: DeleteCluster, condition: {jobStatus: SUCCEEDED}}]}"),
        path="/spec/shutdownAfterJobFinishes", message="exclude each other",
    ),
    "rayjob-deletion-rules-order": Case(
        passing=job("entrypoint: x, deletionStrategy: {deletionRules: [{policy: DeleteCluster, condition: {jobStatus: FAILED, ttlSeconds: 60}}, "
                    "{policy: DeleteSelf, condition: {jobStatus: FAILED, ttlSeconds: 600}}]}"),
        failing=job("entrypoint: x, deletionStrategy: {deletionRules: [{policy: DeleteCluster, condition: {jobStatus: FAILED, ttlSeconds: 600}}, "
                    "{policy: DeleteSelf, condition: {jobStatus: FAILED, ttlSeconds: 60}}]}"),
        path="/spec/deletionStrategy/deletionRules/1/condition/ttlSeconds", message="give DeleteSelf a TTL of at least 600",
    ),
    # --- operator: RayService ------------------------------------------------------------------------
    "rayservice-initializing-timeout": Case(
        passing=service(SERVE_OK, annotations="{ray.io/initializing-timeout: '600'}"),
        failing=service(SERVE_OK, annotations="{ray.io/initializing-timeout: ten-minutes}"),
        path="/metadata/annotations/ray.io~1initializing-timeout", message="use e.g. '10m'",
    ),
    "serve-config-parse": Case(
        passing=service(SERVE_OK),
        failing=service("applications:\n  - name: app\n   import_path: app:d\n"),
        path="/spec/serveConfigV2", message="not valid YAML",
    ),
    "serve-config-schema": Case(
        passing=service(SERVE_OK),
        failing=service("applications:\n  - name: app\n    route_prefix: /app\n"),
        path="/spec/serveConfigV2", message="has no import_path",
    ),
    "pvc-reference": Case(
        passing=stream(cluster(spec(head_group=head(pod="volumes: [{name: m, persistentVolumeClaim: {claimName: store}}]"))),
                       k8s("PersistentVolumeClaim", "v1", "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}", name="store")),
        failing=cluster(spec(head_group=head(pod="volumes: [{name: m, persistentVolumeClaim: {claimName: store}}]"))),
        path="/spec/headGroupSpec/template/spec/volumes/0/persistentVolumeClaim/claimName", message="PersistentVolumeClaim 'store' is not in this bundle",
    ),
    "serviceaccount-reference": Case(
        passing=stream(cluster(spec(head_group=head(pod="serviceAccountName: ray-sa"))), k8s("ServiceAccount", "v1", "", name="ray-sa")),
        failing=cluster(spec(head_group=head(pod="serviceAccountName: ray-sa"))),
        path="/spec/headGroupSpec/template/spec/serviceAccountName", message="ServiceAccount 'ray-sa' is not in this bundle",
    ),
    "serve-config-unknown-field": Case(
        passing=service(SERVE_OK),
        failing=service(SERVE_OK.replace("route_prefix", "route_prefx")),
        path="/spec/serveConfigV2", message="did you mean 'route_prefix'?",
    ),
    "serve-app-names-unique": Case(
        passing=service(SERVE_OK + "  - name: other\n    route_prefix: /other\n    import_path: other:d\n"),
        failing=service(SERVE_OK + "  - name: app\n    route_prefix: /other\n    import_path: other:d\n"),
        path="/spec/serveConfigV2", message="two applications named 'app'",
    ),
    "serve-route-prefix": Case(
        passing=service(SERVE_OK + "  - name: other\n    route_prefix: /other\n    import_path: other:d\n"),
        failing=service(SERVE_OK + "  - name: other\n    route_prefix: /app\n    import_path: other:d\n"),
        path="/spec/serveConfigV2", message="share route_prefix '/app'",
    ),
    "serve-import-path": Case(
        passing=service(SERVE_OK),
        failing=service(SERVE_OK.replace("app:deployment", "app")),
        path="/spec/serveConfigV2", message="'package.module:attribute'",
    ),
    "serve-port-name": Case(
        passing=service(SERVE_OK, cluster_config=spec(head_group=head("ports: [{name: serve, containerPort: 8000}]"))),
        failing=service(SERVE_OK, cluster_config=spec(head_group=head("ports: [{name: http, containerPort: 8000}]"))),
        path="/spec/rayClusterConfig/headGroupSpec/template/spec/containers/0/ports", message="none is named 'serve'",
    ),
    "rayservice-head-service-name": Case(
        passing=service(SERVE_OK, cluster_config=spec(head_group=head(group="headService: {metadata: {labels: {a: b}}}"))),
        failing=service(SERVE_OK, cluster_config=spec(head_group=head(group="headService: {metadata: {name: fixed}}"))),
        path="/spec/rayClusterConfig/headGroupSpec/headService/metadata/name", message="remove the name",
    ),
    "rayservice-upgrade-strategy": Case(
        passing=service(SERVE_OK, extra="  upgradeStrategy: {type: NewCluster}\n"),
        failing=service(SERVE_OK, extra="  upgradeStrategy: {type: Recreate}\n"),
        path="/spec/upgradeStrategy/type", message="use one of NewCluster",
    ),
    "rayservice-deletion-delay": Case(
        passing=service(SERVE_OK, extra="  rayClusterDeletionDelaySeconds: 0\n"),
        failing=service(SERVE_OK, extra="  rayClusterDeletionDelaySeconds: -1\n"),
        path="/spec/rayClusterDeletionDelaySeconds", message="set it to 0 or more",
    ),
    # --- operator: RayCronJob ------------------------------------------------------------------------
    "raycronjob-schedule": Case(
        passing=job("entrypoint: x", kind="RayCronJob"),
        failing=job("entrypoint: x", kind="RayCronJob").replace("'0 3 * * *'", "'0 25 * * *'"),
        path="/spec/schedule", message="hour '25' must be within 0-23",
    ),
    "raycronjob-time-zone": Case(
        passing=job("entrypoint: x", kind="RayCronJob").replace("schedule:", "timeZone: Asia/Tokyo, schedule:"),
        failing=job("entrypoint: x", kind="RayCronJob").replace("schedule:", "timeZone: Mars/Olympus, schedule:"),
        path="/spec/timeZone", message="not an IANA time zone",
    ),
    # --- references ----------------------------------------------------------------------------------
    "service-selects-nothing": Case(
        passing=stream(cluster(spec()), ray_service_k8s("{ray.io/cluster: rc, ray.io/node-type: head}", "[{port: 8265}]")),
        failing=stream(cluster(spec()), ray_service_k8s("{ray.io/cluster: other, ray.io/node-type: head}", "[{port: 8265}]")),
        path="/spec/selector", message="matches no pod",
    ),
    "service-target-port": Case(
        passing=stream(cluster(spec(head_group=DASHBOARD_HEAD)), ray_service_k8s("{ray.io/node-type: head}", "[{port: 80, targetPort: dashboard}]")),
        failing=stream(cluster(spec()), ray_service_k8s("{ray.io/node-type: head}", "[{port: 80, targetPort: dashboard}]")),
        path="/spec/ports/0/targetPort", message="'dashboard' is not a port name of the selected pods (metrics)",
    ),
    "ingress-backend": Case(
        passing=stream(cluster(spec()), ingress_to("rc-head-svc", "{name: dashboard}")),
        failing=stream(cluster(spec()), ingress_to("rc-head", "{name: dashboard}")),
        path="/spec/rules/0/http/paths/0/backend/service/name", message="'rc-head' is not in this bundle",
    ),
    "servicemonitor-target": Case(
        passing=stream(cluster(spec()), k8s("ServiceMonitor", "monitoring.coreos.com/v1",
                                            "spec: {selector: {matchLabels: {ray.io/node-type: head}}, endpoints: [{port: metrics}]}")),
        failing=stream(cluster(spec()), k8s("ServiceMonitor", "monitoring.coreos.com/v1",
                                            "spec: {selector: {matchLabels: {ray.io/node-type: head}}, endpoints: [{port: as-metrics}]}")),
        path="/spec/endpoints/0/port", message="no selected Service has a port named 'as-metrics'",
    ),
    "podmonitor-target": Case(
        passing=stream(cluster(spec(workers=workers_list(worker()))), k8s("PodMonitor", "monitoring.coreos.com/v1",
                       "spec: {selector: {matchLabels: {ray.io/node-type: worker}}, podMetricsEndpoints: [{port: metrics}]}")),
        failing=stream(cluster(spec()), k8s("PodMonitor", "monitoring.coreos.com/v1",
                       "spec: {selector: {matchLabels: {ray.io/node-type: worker}}, podMetricsEndpoints: [{port: metrics}]}")),
        path="/spec/selector", message="matches no pod",
    ),
    "configmap-reference": Case(
        passing=stream(CONFIGMAP, cluster(spec(head_group=head(pod="volumes: [{name: code, configMap: {name: code}}]")))),
        failing=stream(CONFIGMAP.replace("name: code", "name: code-5t9f2kc8bm"),
                       cluster(spec(head_group=head(pod="volumes: [{name: code, configMap: {name: code}}]")))),
        path="/spec/headGroupSpec/template/spec/volumes/0/configMap/name", message="disableNameSuffixHash",
    ),
    "secret-reference": Case(
        passing=cluster(spec("authOptions: {mode: token, secretName: ray-token}"), annotations="{raygitops.io/external: Secret/ray-token}"),
        failing=cluster(spec("authOptions: {mode: token, secretName: ray-token}")),
        path="/spec/authOptions/secretName", message='raygitops.io/external: "Secret/ray-token"',
    ),
    "external-annotation": Case(
        passing=cluster(spec(), annotations="{raygitops.io/external: 'Secret/a, ConfigMap/b'}"),
        failing=cluster(spec(), annotations="{raygitops.io/external: 'Secret/a, b'}"),
        path="/metadata/annotations/raygitops.io~1external", message="entry 'b' is not Kind/name",
    ),
    "rayjob-entrypoint-script": Case(
        passing=stream(CONFIGMAP, job("entrypoint: python /home/ray/code/train.py", cluster_spec=spec(head_group=SCRIPT_ON_HEAD))),
        failing=stream(CONFIGMAP, job("entrypoint: python /home/ray/code/tune.py", cluster_spec=spec(head_group=SCRIPT_ON_HEAD))),
        path="/spec/entrypoint", message="ConfigMap 'code' has no key 'tune.py'",
    ),
    "serve-import-module": Case(
        passing=stream(CONFIGMAP, service(SERVE_OK, cluster_config=spec(head_group=CODE_ON_HEAD))),
        failing=stream(CONFIGMAP, service(SERVE_OK.replace("app:deployment", "model:deployment"), cluster_config=spec(head_group=CODE_ON_HEAD))),
        path="/spec/rayClusterConfig/headGroupSpec/template/spec/containers/0/volumeMounts", message="has no key 'model.py'",
    ),
    "argocd-ray-replicas-ignored": Case(
        passing=k8s("Application", "argoproj.io/v1alpha1",
                    "spec: {source: {path: overlays/dev}, ignoreDifferences: [{group: ray.io, kind: RayCluster, "
                    "jqPathExpressions: ['.spec.workerGroupSpecs[].replicas']}], syncPolicy: {syncOptions: [ApplyOutOfSyncOnly=true]}}"),
        failing=k8s("Application", "argoproj.io/v1alpha1", "spec: {source: {path: overlays/dev}}"),
        path="/spec/ignoreDifferences", message="Argo CD reverts the autoscaler",
    ),
    # --- Argo CD over time (checks/ray/argocd.py) -----------------------------------------------------
    "argocd-respect-ignore-in-array": Case(
        passing=k8s("Application", "argoproj.io/v1alpha1",
                    "spec: {ignoreDifferences: [{group: ray.io, kind: RayCluster, jqPathExpressions: ['.spec.workerGroupSpecs[].replicas']}, "
                    "{group: apps, kind: Deployment, jqPathExpressions: ['.spec.template.spec.containers[].image']}], "
                    "syncPolicy: {syncOptions: [ApplyOutOfSyncOnly=true]}}"),
        failing=k8s("ApplicationSet", "argoproj.io/v1alpha1",
                    "spec: {template: {spec: {ignoreDifferences: [{group: ray.io, kind: RayCluster, "
                    "jqPathExpressions: ['.spec.workerGroupSpecs[].replicas']}], syncPolicy: {syncOptions: [RespectIgnoreDifferences=true]}}}}"),
        path="/spec/template/spec/ignoreDifferences/0/jqPathExpressions/0", message="never applied",
    ),
    "argocd-deletes-data-with-app": Case(
        passing=stream(k8s("Application", "argoproj.io/v1alpha1", "spec: {source: {path: overlays/dev}}").replace(
                           "metadata: {name: x}", "metadata: {name: x, finalizers: [resources-finalizer.argocd.argoproj.io]}"),
                       k8s("PersistentVolumeClaim", "v1", "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}",
                           name="models").replace("metadata: {name: models}",
                                                  "metadata: {name: models, annotations: {argocd.argoproj.io/sync-options: 'Prune=false,Delete=false'}}")),
        failing=stream(k8s("Application", "argoproj.io/v1alpha1", "spec: {source: {path: overlays/dev}}").replace(
                           "metadata: {name: x}", "metadata: {name: x, finalizers: [resources-finalizer.argocd.argoproj.io]}"),
                       k8s("PersistentVolumeClaim", "v1", "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}",
                           name="models")),
        path="/metadata/finalizers/0", message="PersistentVolumeClaim/models",
    ),
    "rayservice-shared-code-configmap": Case(
        passing=stream(service(SERVE_OK, cluster_config=spec(head_group=CODE_ON_HEAD)),
                       job("entrypoint: python /home/ray/code/train.py", cluster_spec=spec(head_group=SCRIPT_ON_HEAD.replace(
                           "configMap: {name: code}", "configMap: {name: train-code}")))),
        failing=stream(service(SERVE_OK, cluster_config=spec(head_group=CODE_ON_HEAD)),
                       job("entrypoint: python /home/ray/code/train.py", cluster_spec=spec(head_group=SCRIPT_ON_HEAD))),
        path="/spec/rayClusterConfig/headGroupSpec/template/spec/volumes/0/configMap/name", message="also mounted by RayJob/job",
    ),
    "rayjob-deleteself-under-autosync": Case(
        passing=stream(job("entrypoint: python x.py, deletionStrategy: {onSuccess: {policy: DeleteCluster}, onFailure: {policy: DeleteCluster}}"),
                       k8s("Application", "argoproj.io/v1alpha1", "spec: {syncPolicy: {automated: {selfHeal: true}}}")),
        failing=stream(job("entrypoint: python x.py, deletionStrategy: {onSuccess: {policy: DeleteSelf}, onFailure: {policy: DeleteCluster}}"),
                       k8s("Application", "argoproj.io/v1alpha1", "spec: {syncPolicy: {automated: {selfHeal: true}}}")),
        path="/spec/deletionStrategy/onSuccess/policy", message="runs again",
    ),
    "rayservice-gcs-fault-tolerance": Case(
        passing=service(SERVE_OK, cluster_config=spec("gcsFaultToleranceOptions: {redisAddress: 'redis:6379'}")),
        failing=service(SERVE_OK),
        path="/spec/rayClusterConfig", message="no gcsFaultToleranceOptions",
    ),
    # --- consistency ---------------------------------------------------------------------------------
    "image-ray-version": Case(
        passing=cluster(spec(workers=workers_list(worker()))),
        failing=cluster(spec(workers=workers_list(worker().replace("2.60.0-py311", "2.59.1-py311")))),
        path="/spec/workerGroupSpecs/0/template/spec/containers/0/image", message="runs Ray 2.59.1 but rayVersion is 2.60.0",
    ),
    "image-ray-version-unknown": Case(
        passing=cluster(spec(head_group=HEAD.replace("2.60.0-py311", "2.60.0-py311-gpu"))),
        failing=cluster(spec(head_group=HEAD.replace("2.60.0-py311", "nightly-py311"))),
        path="/spec/headGroupSpec/template/spec/containers/0/image", message="does not name a Ray release",
    ),
    "ray-version-missing": Case(
        passing=cluster(spec()),
        failing=cluster(spec().replace("rayVersion: '2.60.0', ", "")),
        path="/spec/rayVersion", message="is not set",
    ),
    "gpu-limits-equal-requests": Case(
        passing=cluster(spec(workers=workers_list(worker(container=GPU_1)))),
        failing=cluster(spec(workers=workers_list(worker(container=GPU_1.replace("limits: {nvidia.com/gpu: 1}", "limits: {nvidia.com/gpu: 2}"))))),
        path="/spec/workerGroupSpecs/0/template/spec/containers/0/resources/limits/nvidia.com~1gpu", message="make them equal",
    ),
    "gpu-toleration": Case(
        passing=cluster(spec(workers=workers_list(worker(container=GPU_1, pod="tolerations: [{key: nvidia.com/gpu, operator: Exists}]")))),
        failing=cluster(spec(workers=workers_list(worker(container=GPU_1)))),
        path="/spec/workerGroupSpecs/0/template/spec/tolerations", message="does not tolerate the nvidia.com/gpu taint",
    ),
    "rayjob-resources-exceed-cluster": Case(
        passing=job("entrypoint: python train.py --num-workers 4 --cpus-per-worker 2", cluster_spec=spec(
            "enableInTreeAutoscaling: true", head_group=head(group="rayStartParams: {num-cpus: '0'}"),
            workers=workers_list(worker(group="maxReplicas: 2", container="resources: {limits: {cpu: 4}}")))),
        failing=job("entrypoint: python train.py --num-workers 4 --cpus-per-worker 2", cluster_spec=spec(
            "enableInTreeAutoscaling: true", head_group=head(group="rayStartParams: {num-cpus: '0'}"),
            workers=workers_list(worker(group="maxReplicas: 2", container="resources: {limits: {cpu: 2}}")))),
        path="/spec/entrypoint", message="can place at most 2",
    ),
    "ray-start-params-exceed-container": Case(
        passing=cluster(spec(workers=workers_list(worker(group="rayStartParams: {num-gpus: '1'}", container=GPU_1)))),
        failing=cluster(spec(workers=workers_list(worker(group="rayStartParams: {num-gpus: '2'}", container=GPU_1)))),
        path="/spec/workerGroupSpecs/0/rayStartParams/num-gpus", message="advertises num-gpus 2 but its container is limited to 1",
    ),
    "cluster-without-task-capacity": Case(
        passing=cluster(spec("enableInTreeAutoscaling: true", head_group=head(group="rayStartParams: {num-cpus: '0'}"),
                             workers=workers_list(worker(group="maxReplicas: 2", container="resources: {limits: {cpu: 2}}")))),
        failing=cluster(spec("enableInTreeAutoscaling: true", head_group=head(group="rayStartParams: {num-cpus: '0'}"),
                             workers=workers_list(worker(group="maxReplicas: 0", container="resources: {limits: {cpu: 2}}")))),
        path="/spec/workerGroupSpecs", message="every task waits forever",
    ),
    # --- safety --------------------------------------------------------------------------------------
    "ray-port-exposed": Case(
        passing=stream(cluster(spec("authOptions: {mode: token}")),
                       ray_service_k8s("{ray.io/node-type: head}", "[{port: 80, targetPort: 8265}]", "LoadBalancer")),
        failing=stream(cluster(spec()), ray_service_k8s("{ray.io/node-type: head}", "[{port: 80, targetPort: 8265}]", "LoadBalancer")),
        path="/spec/ports/0", message="exposes the Ray dashboard port 8265",
    ),
    "token-auth-disabled": Case(
        passing=cluster(spec("authOptions: {mode: token}")),
        failing=cluster(spec("authOptions: {mode: disabled}")),
        path="/spec/authOptions", message="set authOptions.mode: token",
    ),
    "privileged-container": Case(
        passing=deployment(SAFE_POD),
        failing=deployment(SAFE_POD.replace("allowPrivilegeEscalation: false", "privileged: true")),
        path="/spec/template/spec/containers/0/securityContext/privileged", message="remove privileged: true",
    ),
    "host-namespace": Case(
        passing=deployment(SAFE_POD),
        failing=deployment(SAFE_POD.replace("{securityContext", "{hostNetwork: true, securityContext", 1)),
        path="/spec/template/spec/hostNetwork", message="sets hostNetwork: true",
    ),
    "host-path-volume": Case(
        passing=cluster(spec(head_group=head(pod="volumes: [{name: logs, emptyDir: {}}]"))),
        failing=cluster(spec(head_group=head(pod="volumes: [{name: logs, hostPath: {path: /var/log}}]"))),
        path="/spec/headGroupSpec/template/spec/volumes/0/hostPath", message="use an emptyDir",
    ),
    "privilege-escalation": Case(
        passing=deployment(SAFE_POD),
        failing=deployment(SAFE_POD.replace("allowPrivilegeEscalation: false", "readOnlyRootFilesystem: true")),
        path="/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation", message="allowPrivilegeEscalation: false",
    ),
    "run-as-root": Case(
        passing=deployment(SAFE_POD),
        failing=deployment(SAFE_POD.replace("runAsNonRoot: true", "runAsUser: 0")),
        path="/spec/template/spec/containers/0/securityContext/runAsUser", message="runs as uid 0",
    ),
    "missing-limits": Case(
        passing=deployment(SAFE_POD),
        failing=deployment(SAFE_POD.replace("limits: {cpu: 100m, memory: 64Mi}", "limits: {cpu: 100m}")),
        path="/spec/template/spec/containers/0/resources/limits", message="has no memory limit",
    ),
    "image-unpinned": Case(
        passing=deployment(SAFE_POD),
        failing=deployment(SAFE_POD.replace("nginx:1.27", "nginx:latest")),
        path="/spec/template/spec/containers/0/image", message="is not pinned",
    ),
    "literal-secret-env": Case(
        passing=cluster(spec(head_group=head("env: [{name: RAY_ENABLE_K8S_TOKEN_AUTH, value: 'true'}, "
                                             "{name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf, key: token}}}]"))),
        failing=cluster(spec(head_group=head("env: [{name: HF_TOKEN, value: hf_abc123}]"))),
        path="/spec/headGroupSpec/template/spec/containers/0/env/0/value", message="valueFrom.secretKeyRef",
    ),
    "namespace-without-networkpolicy": Case(
        passing=stream(cluster(spec()), k8s("NetworkPolicy", "networking.k8s.io/v1", "spec: {podSelector: {}}")),
        failing=cluster(spec()),
        path="/metadata", message="no NetworkPolicy",
    ),
}


# ray-port-exposed and Ingress authentication: the same unauthenticated cluster and dashboard Service behind
# an Ingress whose annotations do (passing) or do not (failing) make the controller check credentials.
OPEN_DASHBOARD = stream(cluster(spec()), ray_service_k8s("{ray.io/node-type: head}", "[{port: 80, targetPort: 8265}]"))
NGINX = "nginx.ingress.kubernetes.io/"
TRAEFIK_AUTH = k8s("Middleware", "traefik.io/v1alpha1", "spec: {forwardAuth: {address: 'http://auth.auth/check'}}", name="sso")
TRAEFIK_HEADERS = k8s("Middleware", "traefik.io/v1alpha1", "spec: {headers: {frameDeny: true}}", name="sso")
TRAEFIK_SSO = "{traefik.ingress.kubernetes.io/router.middlewares: default-sso@kubernetescrd}"
INGRESS_AUTHENTICATES = {
    "nginx auth-url": ingress_with("{" + NGINX + "auth-url: 'http://oauth2-proxy.oauth2-proxy/oauth2/auth'}"),
    "nginx basic auth with its secret": ingress_with("{" + NGINX + "auth-type: basic, " + NGINX + "auth-secret: users}"),
    "alb oidc": ingress_with("{alb.ingress.kubernetes.io/auth-type: oidc}"),
    "traefik forwardAuth middleware": stream(TRAEFIK_AUTH, ingress_with(TRAEFIK_SSO)),
    "declared proxy": ingress_with("{raygitops.io/auth: 'Cloud IAP in front of the load balancer'}"),
}
INGRESS_DOES_NOT_AUTHENTICATE = {
    "no annotation": ingress_with("{}"),
    "nginx auth-signin alone": ingress_with("{" + NGINX + "auth-signin: 'https://oauth2.example.com/oauth2/start'}"),
    "nginx auth-type without auth-secret": ingress_with("{" + NGINX + "auth-type: basic}"),
    "nginx auth-response-headers alone": ingress_with("{" + NGINX + "auth-response-headers: X-Auth-Request-User}"),
    "alb auth-type none": ingress_with("{alb.ingress.kubernetes.io/auth-type: none}"),
    "traefik middleware that only sets headers": stream(TRAEFIK_HEADERS, ingress_with(TRAEFIK_SSO)),
    "traefik middleware not in the bundle": ingress_with(TRAEFIK_SSO),
}
