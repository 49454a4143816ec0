"""Patterns met re-scoring public Ray-on-Kubernetes manifests one file at a time (manifests written here).

Each test holds a manifest the cluster or the operator accepts, or one that is a template to render
first, and next to it the variant that is really rejected, so that precision does not cost recall.
"""

from __future__ import annotations

from raygitops.findings import Severity

from .conftest import errors, of_rule

# A load-test harness's cluster: Go template actions left unquoted, which YAML reads as nested mappings.
GO_TEMPLATED_CLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: {{.Name}}
spec:
  rayVersion: '2.60.0'
  headGroupSpec:
    template:
      spec:
        containers: [{name: ray-head, image: {{.Image}}}]
  workerGroupSpecs:
  - groupName: small
    replicas: {{.Workers}}
    template:
      spec:
        containers: [{name: ray-worker, image: 'rayproject/ray:2.60.0'}]
"""


def test_unquoted_go_template_actions_are_one_placeholder_finding(validator) -> None:
    report = validator.file(GO_TEMPLATED_CLUSTER)
    assert errors(report) == []
    [finding] = of_rule(report, "unrendered-template")
    assert finding.path == "/metadata/name" and "'{{.Name}}' and 2 more" in finding.message


def test_a_mapping_where_a_name_belongs_is_still_an_error(validator) -> None:
    report = validator.file(GO_TEMPLATED_CLUSTER.replace("{{.Name}}", "{first: ray}").replace(
        "{{.Image}}", "'rayproject/ray:2.60.0'").replace("{{.Workers}}", "1"))
    assert of_rule(report, "unrendered-template") == []
    assert [f.rule for f in errors(report)] == ["metadata-name"]


# A tutorial's token Secret, filled in by `envsubst < service.yaml | kubectl apply -f -`.
ENVSUBST_SECRET = """\
apiVersion: v1
kind: Secret
metadata: {name: hf-token}
type: Opaque
data:
  token: VALUE
"""


def test_a_variable_in_secret_data_is_a_placeholder_not_bad_base64(validator) -> None:
    for value in ("$HF_TOKEN_B64", "${HF_TOKEN_B64}"):
        report = validator.file(ENVSUBST_SECRET.replace("VALUE", value))
        assert errors(report) == []
        [finding] = of_rule(report, "unrendered-template")
        assert finding.path == "/data/token" and finding.severity is Severity.WARNING


def test_secret_data_that_is_not_base64_is_still_rejected(validator) -> None:
    report = validator.file(ENVSUBST_SECRET.replace("VALUE", "hf_plain-text!"))
    assert [(f.rule, f.path) for f in errors(report)] == [("schema-format", "/data/token")]


def test_a_variable_in_configmap_data_is_free_text(validator) -> None:
    report = validator.file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: run}\n"
                            "data: {run.sh: 'ray start --address=$RAY_ADDRESS'}\n")
    assert report.findings == []


# Kubernetes token auth: KubeRay adds the projected service-account token volume `ray-token` to each
# Ray pod (common/pod.go), so a sidecar may mount it without declaring it.
K8S_AUTH_CLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: secured}
spec:
  rayVersion: '2.60.0'
  authOptions: {mode: token, enableK8sTokenAuth: true}
  headGroupSpec:
    template:
      spec:
        containers:
        - {name: ray-head, image: 'rayproject/ray:2.60.0'}
        - name: log-shipper
          image: 'fluent/fluent-bit:3.2'
          volumeMounts: [{name: ray-token, mountPath: /var/run/secrets/ray.io/serviceaccount, readOnly: true}]
  workerGroupSpecs: []
"""


def test_mounting_the_token_volume_kuberay_adds_is_accepted(validator) -> None:
    report = validator.file(K8S_AUTH_CLUSTER)
    assert of_rule(report, "volume-mount") == []


def test_mounting_the_token_volume_without_kubernetes_token_auth_is_rejected(validator) -> None:
    report = validator.file(K8S_AUTH_CLUSTER.replace(", enableK8sTokenAuth: true", ""))
    [finding] = of_rule(report, "volume-mount")
    assert finding.severity is Severity.ERROR and "'ray-token'" in finding.message


def test_a_mount_naming_another_missing_volume_is_still_rejected(validator) -> None:
    report = validator.file(K8S_AUTH_CLUSTER.replace("{name: ray-token,", "{name: ray-logs,"))
    [finding] = of_rule(report, "volume-mount")
    assert "'ray-logs'" in finding.message


# The RBAC that lets a Ray pod read RayClusters, written without roleRef.apiGroup: the API server
# defaults it to rbac.authorization.k8s.io (pkg/apis/rbac/v1/defaults.go).
BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: KIND
metadata: {name: ray-reader}
subjects: [{kind: ServiceAccount, name: ray-head, namespace: default}]
roleRef: {kind: ClusterRole, name: raycluster-reader}
"""


def test_a_binding_without_role_ref_api_group_is_accepted(validator) -> None:
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        assert errors(validator.file(BINDING.replace("KIND", kind))) == []


def test_a_binding_without_role_ref_name_is_still_rejected(validator) -> None:
    report = validator.file(BINDING.replace("KIND", "RoleBinding").replace(", name: raycluster-reader", ""))
    assert [(f.rule, f.path) for f in errors(report)] == [("schema-required", "/roleRef/name")]


# Warnings that fired on nearly every public manifest, where the advice did not hold.
GPU_CLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: gpu}
spec:
  rayVersion: '2.60.0'
  headGroupSpec:
    template:
      spec:
        containers: [{name: ray-head, image: 'rayproject/ray:2.60.0'}]
  workerGroupSpecs:
  - groupName: gpu
    template:
      spec:
        PLACEMENT
        containers:
        - name: ray-worker
          image: 'rayproject/ray:2.60.0-gpu'
          resources: {limits: {nvidia.com/gpu: 1}}
"""
PLAIN = "schedulerName: default-scheduler"


def test_no_networkpolicy_advice_on_a_file_alone_but_on_a_complete_bundle(validator) -> None:
    text = GPU_CLUSTER.replace("PLACEMENT", PLAIN)
    alone = validator.file(text)
    assert errors(alone) == [] and of_rule(alone, "namespace-without-networkpolicy") == []
    [finding] = of_rule(validator.file(text, complete=True), "namespace-without-networkpolicy")
    assert finding.severity is Severity.WARNING


def test_ray_images_run_as_uid_1000_and_are_not_said_to_run_as_root(validator) -> None:
    report = validator.file(GPU_CLUSTER.replace("PLACEMENT", PLAIN))
    assert of_rule(report, "run-as-root") == []
    other_image = validator.file(GPU_CLUSTER.replace("PLACEMENT", PLAIN).replace(
        "'rayproject/ray:2.60.0-gpu'", "'registry.example.com/ml/ray-worker:1.4'"))
    [finding] = of_rule(other_image, "run-as-root")
    assert "'ray-worker' in worker group 'gpu'" in finding.message and "may run as root" in finding.message
    as_root = validator.file(GPU_CLUSTER.replace("PLACEMENT", "securityContext: {runAsUser: 0}"))
    [finding] = of_rule(as_root, "run-as-root")
    assert "runs as uid 0" in finding.message


def test_a_gpu_pod_placed_on_gke_gets_its_toleration_from_gke(validator) -> None:
    on_gke = "nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}"
    assert of_rule(validator.file(GPU_CLUSTER.replace("PLACEMENT", on_gke)), "gpu-toleration") == []
    by_affinity = ("affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: "
                   "[{matchExpressions: [{key: cloud.google.com/gke-accelerator, operator: Exists}]}]}}}")
    assert of_rule(validator.file(GPU_CLUSTER.replace("PLACEMENT", by_affinity)), "gpu-toleration") == []
    elsewhere = "nodeSelector: {node.kubernetes.io/instance-type: g5.xlarge}"
    [finding] = of_rule(validator.file(GPU_CLUSTER.replace("PLACEMENT", elsewhere)), "gpu-toleration")
    assert finding.severity is Severity.WARNING and "ExtendedResourceToleration" in finding.message


ROUTE = """\
apiVersion: GROUP/v1
KIND_LINE
metadata: {name: ray-dashboard}
spec:
  parentRefs: [{name: gateway}]
  rules: [{backendRefs: [{name: raycluster-head-svc, port: 8265}]}]
"""


def test_a_crd_group_near_a_built_in_one_gets_no_misspelling_hint(validator) -> None:
    [finding] = of_rule(validator.file(ROUTE.replace("GROUP", "gateway.networking.k8s.io").replace(
        "KIND_LINE", "kind: HTTPRoute")), "unknown-group")
    assert finding.severity is Severity.WARNING and "did you mean" not in finding.message
    [typo] = of_rule(validator.file(ROUTE.replace("GROUP", "networking.k8s.i0").replace(
        "KIND_LINE", "kind: Ingress")), "unknown-group")
    assert typo.message.endswith("; did you mean group networking.k8s.io?")


SIZED_CLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: sized}
spec:
  rayVersion: '2.60.0'
  headGroupSpec:
    rayStartParams: {num-cpus: '0'}
    template:
      spec:
        containers:
        - {name: ray-head, image: 'rayproject/ray:2.60.0', resources: {limits: {memory: 8Gi}}}
  workerGroupSpecs:
  - groupName: cpu
    template:
      spec:
        containers:
        - {name: ray-worker, image: 'rayproject/ray:2.60.0', resources: {requests: {cpu: '4'}, limits: {memory: 16Gi}}}
        - {name: log-shipper, image: 'fluent/fluent-bit:3.2', resources: {requests: {cpu: 100m}, limits: {memory: 64Mi}}}
"""


def test_ray_cpus_sized_by_num_cpus_or_the_request_need_no_cpu_limit(validator) -> None:
    [finding] = of_rule(validator.file(SIZED_CLUSTER), "missing-limits")
    # Only the sidecar: KubeRay sizes the Ray containers' CPUs from num-cpus (head) and the request (worker).
    assert "'log-shipper' in worker group 'cpu' has no cpu limit" in finding.message
    assert "ray-head" not in finding.message and "ray-worker" not in finding.message
    unsized = validator.file(SIZED_CLUSTER.replace("requests: {cpu: '4'}, ", ""))
    [finding] = of_rule(unsized, "missing-limits")
    assert "'ray-worker' in worker group 'cpu' has no cpu limit" in finding.message


def test_a_kustomization_file_given_alone_is_skipped_saying_to_validate_its_folder(validator) -> None:
    report = validator.file("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                            "namespace: ray\nresources: [raycluster.yaml, ../base]\n", name="kustomization.yaml")
    assert errors(report) == []
    [finding] = of_rule(report, "not-a-manifest")
    assert "validate its folder" in finding.message


def test_a_flux_kustomization_is_an_object_of_the_cluster_and_still_checked(validator) -> None:
    report = validator.file("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nspec: {}\n")
    assert of_rule(report, "not-a-manifest") == []
    assert [f.rule for f in errors(report)] == ["metadata-missing"]


# Services that select Ray pods by the labels KubeRay's labelPod gives them: its own (ray.io/identifier
# included), then the template's and the group's `labels` over them, except cluster, node type and group.
LABELLED_CLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: rc}
spec:
  rayVersion: '2.60.0'
  headGroupSpec:
    template:
      metadata:
        labels: {app.kubernetes.io/name: chat-backend, ray.io/node-type: gateway}
      spec:
        containers: [{name: ray-head, image: 'rayproject/ray:2.60.0'}]
  workerGroupSpecs:
  - groupName: gpu
    labels: {team: vision}
    template:
      spec:
        containers: [{name: ray-worker, image: 'rayproject/ray:2.60.0'}]
"""


def service(selector: str) -> str:
    return ("---\napiVersion: v1\nkind: Service\nmetadata: {name: picked}\n"
            f"spec:\n  selector: {selector}\n  ports: [{{name: dashboard, port: 8265, targetPort: 8265}}]\n")


def test_selectors_on_the_labels_kuberay_gives_ray_pods_select_them(validator) -> None:
    for selector in ("{app.kubernetes.io/name: chat-backend}", "{ray.io/identifier: rc-head}",
                     "{team: vision, ray.io/group: gpu}"):
        report = validator.file(LABELLED_CLUSTER + service(selector), complete=True)
        assert of_rule(report, "service-selects-nothing") == [], selector


def test_a_template_cannot_relabel_the_node_type_so_that_selector_selects_nothing(validator) -> None:
    report = validator.file(LABELLED_CLUSTER + service("{ray.io/node-type: gateway}"), complete=True)
    [finding] = of_rule(report, "service-selects-nothing")
    assert finding.severity is Severity.ERROR
    replaced = validator.file(LABELLED_CLUSTER + service("{app.kubernetes.io/name: kuberay, ray.io/node-type: head}"),
                              complete=True)
    assert [f.rule for f in of_rule(replaced, "service-selects-nothing")] == ["service-selects-nothing"]


ENVSUBST_JOB = """\
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: NAME}
spec:
  entrypoint: python -c "import ray; ray.init()"
  shutdownAfterJobFinishes: true
  rayClusterSpec:
    rayVersion: '2.60.0'
    headGroupSpec:
      template:
        spec:
          containers: [{name: ray-head, image: 'rayproject/ray:2.60.0'}]
"""


def test_an_envsubst_variable_inside_a_name_is_one_placeholder_finding(validator) -> None:
    report = validator.file(ENVSUBST_JOB.replace("NAME", "train-$JOB_SUFFIX"))
    assert errors(report) == []
    [finding] = of_rule(report, "unrendered-template")
    assert "'train-$JOB_SUFFIX'" in finding.message


def test_a_dollar_sign_that_is_no_variable_is_still_judged(validator) -> None:
    report = validator.file(ENVSUBST_JOB.replace("NAME", "train-$job"))
    assert of_rule(report, "unrendered-template") == []
    assert {f.rule for f in errors(report)} == {"metadata-name", "ray-name-dns1035"}
