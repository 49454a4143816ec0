"""Manifests of the kinds public Ray-on-Kubernetes projects ship, which the cluster accepts: no error.

Each reproduces one pattern met in KubeRay's samples and cloud tutorials (written here, not copied),
next to the variant the cluster or the operator does reject.
"""

from __future__ import annotations

from raygitops.findings import Severity

from .conftest import errors, of_rule

CLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: demo}
spec:
  rayVersion: '2.60.0'
  headGroupSpec:
    rayStartParams: {dashboard-port: '8266', metrics-export-port: '9090'}
    template:
      spec:
        containers:
        - name: ray-head
          image: rayproject/ray:2.60.0
          ports: [{containerPort: 6379, name: gcs-server}, {containerPort: 8000, name: serve}]
  workerGroupSpecs:
  - groupName: GROUP
    replicas: 1
    minReplicas: 1
    maxReplicas: 2
    template:
      spec:
        containers: [{name: ray-worker, image: 'rayproject/ray:WORKER_TAG'}]
"""


def cluster(group: str = "cpu-group", worker_tag: str = "2.60.0", extra: str = "") -> str:
    return CLUSTER.replace("GROUP", group).replace("WORKER_TAG", worker_tag) + extra


def rayservice(serve_config: str) -> str:
    indented = "\n".join("    " + line for line in serve_config.strip().splitlines())
    body = cluster().split("spec:\n", 1)[1].replace("\n", "\n    ")
    return ("apiVersion: ray.io/v1\nkind: RayService\nmetadata: {name: llm}\nspec:\n"
            f"  serveConfigV2: |\n{indented}\n  rayClusterConfig:\n    {body}\n")


def test_import_path_through_folders_with_hyphens_is_accepted(validator) -> None:
    report = validator.file(rayservice("applications:\n- name: llm\n  import_path: ml-examples.serve-apps.llm_app:model\n"))
    assert of_rule(report, "serve-import-path") == []
    bad = validator.file(rayservice("applications:\n- name: llm\n  import_path: 'llm_app:model:extra'\n"))
    [finding] = of_rule(bad, "serve-import-path")
    assert finding.severity is Severity.ERROR and "more than one ':'" in finding.message


HEADLESS = """\
---
apiVersion: v1
kind: Service
metadata: {name: demo-headless}
spec:
  clusterIP: None
  selector: {ray.io/cluster: demo, ray.io/node-type: head}
  ports:
  - {name: dashboard, port: 8266}
  - {name: metrics, port: 9090, targetPort: 9090}
  - {name: client, port: 10001, targetPort: 10001}
"""


def test_numeric_or_defaulted_target_port_needs_no_declared_container_port(validator) -> None:
    report = validator.file(cluster() + HEADLESS)
    assert of_rule(report, "service-target-port") == []
    assert errors(report) == []


def test_a_named_target_port_the_pods_do_not_declare_is_still_an_error(validator) -> None:
    report = validator.file(cluster() + HEADLESS.replace("targetPort: 9090", "targetPort: prometheus"))
    [finding] = of_rule(report, "service-target-port")
    assert finding.severity is Severity.ERROR and "'prometheus'" in finding.message


TLS_SECRET = """\
apiVersion: v1
kind: Secret
metadata: {name: ca-tls}
data:
  ca.crt: |
    LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENCK3dJSkFLSGJlc3RmYWtl
    Y2VydGlmaWNhdGUtZm9yLXRlc3RzCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K
"""


def test_secret_data_in_base64_split_over_lines_is_valid(validator) -> None:
    assert errors(validator.file(TLS_SECRET)) == []


def test_secret_data_with_spaces_inside_is_still_rejected(validator) -> None:
    report = validator.file(TLS_SECRET.replace("Y2VydGlm", "Y2Vy dGlm"))
    [finding] = errors(report)
    assert finding.rule == "schema-format" and finding.path == "/data/ca.crt"


def test_image_ray_version_mismatch_is_a_warning_and_an_error_under_prod(validator) -> None:
    [warning] = of_rule(validator.file(cluster(worker_tag="2.59.1")), "image-ray-version")
    assert warning.severity is Severity.WARNING
    [error] = of_rule(validator.file(cluster(worker_tag="2.59.1"), profile="prod"), "image-ray-version")
    assert error.severity is Severity.ERROR


def test_uppercase_group_name_is_accepted_without_network_policy(validator) -> None:
    assert of_rule(validator.file(cluster(group="GPU-Group")), "worker-group-name-dns1123") == []


def test_uppercase_group_name_is_rejected_with_network_policy(validator) -> None:
    report = validator.file(cluster(group="GPU-Group", extra="  networkPolicy: {mode: DenyAll}\n"))
    [finding] = of_rule(report, "worker-group-name-dns1123")
    assert finding.severity is Severity.ERROR and "networkPolicy" in finding.message


def test_serve_config_value_serve_rejects_is_an_error(validator) -> None:
    report = validator.file(rayservice(
        "applications:\n- name: llm\n  import_path: app:model\n  deployments:\n  - {name: Model, num_replicas: two}\n"))
    [finding] = of_rule(report, "serve-config-schema")
    assert finding.severity is Severity.ERROR and "num_replicas is 'two'" in finding.message


def test_serve_config_unknown_field_is_a_warning_naming_the_closest_field(validator) -> None:
    report = validator.file(rayservice(
        "applications:\n- name: llm\n  import_path: app:model\n  deployments:\n  - {name: Model, max_ongoing_requestz: 4}\n"))
    assert errors(report) == []
    [finding] = of_rule(report, "serve-config-unknown-field")
    assert finding.severity is Severity.WARNING and "'max_ongoing_requests'" in finding.message


# The shape of Kueue's RayJob guide: queued through a label, created suspended, cluster torn down after.
KUEUE_JOB = """\
apiVersion: ray.io/v1
kind: RayJob
metadata:
  name: queued-train
  labels: {kueue.x-k8s.io/queue-name: team-queue}
spec:
  suspend: true
  shutdownAfterJobFinishes: true
  entrypoint: python -c "import ray; ray.init(); print(ray.cluster_resources())"
  rayClusterSpec:
    rayVersion: '2.60.0'
    headGroupSpec:
      template:
        spec:
          containers:
          - {name: ray-head, image: 'rayproject/ray:2.60.0', resources: {requests: {cpu: '1'}}}
    workerGroupSpecs:
    - groupName: small
      replicas: 1
      minReplicas: 1
      maxReplicas: 1
      template:
        spec:
          containers:
          - {name: ray-worker, image: 'rayproject/ray:2.60.0', resources: {requests: {cpu: '1'}}}
"""


def test_a_kueue_queued_rayjob_is_accepted(validator) -> None:
    assert errors(validator.file(KUEUE_JOB)) == []


def test_a_suspended_rayjob_that_keeps_its_cluster_is_rejected(validator) -> None:
    report = validator.file(KUEUE_JOB.replace("shutdownAfterJobFinishes: true", "shutdownAfterJobFinishes: false"))
    assert [f.rule for f in errors(report)] == ["rayjob-suspend"]


# The shape of LLM-serving tutorials: code from a zip URL, a token Secret created with kubectl.
VLLM_SERVICE = """\
apiVersion: ray.io/v1
kind: RayService
metadata: {name: llama}
spec:
  serveConfigV2: |
    applications:
    - name: llm
      route_prefix: /
      import_path: serving.vllm_openai_app:deployment
      runtime_env:
        working_dir: "https://example.com/archive/main.zip"
        pip: ["vllm==0.9.0"]
        env_vars: {MODEL_ID: "org/model", TENSOR_PARALLELISM: "2"}
      deployments:
      - name: VLLMDeployment
        num_replicas: 1
        max_ongoing_requests: "32"
        ray_actor_options: {num_cpus: 6}
  rayClusterConfig:
    rayVersion: '2.60.0'
    headGroupSpec:
      template:
        spec:
          containers:
          - name: ray-head
            image: rayproject/ray-llm:2.60.0-py311-cu128
            ports: [{containerPort: 8000, name: serve}]
            env: [{name: HUGGING_FACE_HUB_TOKEN, valueFrom: {secretKeyRef: {name: hf-secret, key: hf_api_token}}}]
    workerGroupSpecs:
    - groupName: gpu-group
      replicas: 1
      minReplicas: 0
      maxReplicas: 2
      template:
        spec:
          containers:
          - name: llm
            image: rayproject/ray-llm:2.60.0-py311-cu128
            env: [{name: HUGGING_FACE_HUB_TOKEN, valueFrom: {secretKeyRef: {name: hf-secret, key: hf_api_token}}}]
            resources: {limits: {nvidia.com/gpu: 2}, requests: {nvidia.com/gpu: 2}}
          tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
"""


def test_an_llm_rayservice_with_a_secret_created_by_hand_has_no_error(validator) -> None:
    report = validator.file(VLLM_SERVICE)
    assert errors(report) == []
    assert {f.rule for f in report.findings if f.rule == "secret-reference"} == {"secret-reference"}
