"""Native validation of built-in kinds: each pair is a manifest a schema-only validator
gets wrong (accepts an invalid one, or rejects a valid one) and what we report."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from raygitops.checks.native.builtin_kinds import check_native, pod_spec_problems
from raygitops.checks.registry import NATIVE, all_checks

BUILTIN_RULES = {c.id: c.doc.summary for c in all_checks() if c.category == NATIVE}
from raygitops.inputs.documents import Document, load_stream
from raygitops.findings import Finding, Severity


def doc(text: str) -> Document:
    documents, findings = load_stream(textwrap.dedent(text), "test.yaml")
    assert not findings and len(documents) == 1
    return documents[0]


def only(findings: list[Finding], rule: str) -> Finding:
    matching = [f for f in findings if f.rule == rule]
    assert len(matching) == 1, findings
    return matching[0]


def value(text: str):
    """A YAML snippet (a list of ports, of containers) as Python data."""
    return yaml.safe_load(textwrap.dedent(text))


def service(ports: str, **spec) -> Document:
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ray-head"},
            "spec": {"selector": {"app": "ray"}, **spec, "ports": value(ports)}}
    return Document(source="test.yaml", index=0, body=body)


def pod(containers: str, **spec) -> Document:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {**{k: value(v) for k, v in spec.items()}, "containers": value(containers)}}
    return Document(source="test.yaml", index=0, body=body)


# ---------------------------------------------------------------- Service


def test_service_port_70000_rejected_though_its_schema_says_int32():
    finding = only(check_native(service("- {name: client, port: 70000}")), "service-port")
    assert finding.severity is Severity.ERROR
    assert finding.path == "/spec/ports/0/port"
    assert finding.message == "spec.ports[0].port is 70000; it must be between 1 and 65535, inclusive"
    assert (finding.kind, finding.name) == ("Service", "ray-head")


def test_service_with_kuberay_ports_is_clean():
    ports = """
        - {name: gcs, port: 6379, targetPort: 6379}
        - {name: dashboard, port: 8265, targetPort: dashboard}
        - {name: client, port: 10001}
        - {name: serve, port: 8000, targetPort: 8000, protocol: TCP}
    """
    assert check_native(service(ports)) == []


def test_service_target_port_name_and_number_checked():
    findings = check_native(service("- {name: a, port: 80, targetPort: Dash_Board}\n- {name: b, port: 81, targetPort: 0}\n- {name: c, port: 82, targetPort: 65536}"))
    messages = {f.path: f.message for f in findings}
    assert set(messages) == {"/spec/ports/0/targetPort", "/spec/ports/2/targetPort"}  # 0 means "same as port"
    assert "as a port name it must contain only lowercase letters" in messages["/spec/ports/0/targetPort"]
    assert messages["/spec/ports/2/targetPort"].endswith("it must be between 1 and 65535, inclusive")


def test_service_ports_need_unique_names_when_several():
    findings = check_native(service("- {port: 80}\n- {name: http, port: 81}\n- {name: http, port: 82}"))
    assert [(f.rule, f.path) for f in findings] == [
        ("service-port", "/spec/ports/0/name"),
        ("service-port", "/spec/ports/2/name"),
    ]
    assert "every port needs a name" in findings[0].message
    assert "'http' is a duplicate" in findings[1].message


def test_single_unnamed_service_port_is_fine():
    assert check_native(service("- {port: 80}")) == []


def test_service_without_ports_rejected_unless_headless():
    plain = doc("""
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec: {selector: {app: a}}
    """)
    headless = doc("""
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec: {clusterIP: None, selector: {app: a}}
    """)
    finding = only(check_native(plain), "service-spec")
    assert finding.path == "/spec/ports"
    assert check_native(headless) == []


def test_node_port_outside_default_range_is_a_warning_and_on_cluster_ip_an_error():
    findings = check_native(service("- {name: a, port: 80, nodePort: 8080}", type="NodePort"))
    finding = only(findings, "service-node-port")
    assert finding.severity is Severity.WARNING
    assert "outside the default NodePort range 30000-32767" in finding.message
    findings = check_native(service("- {name: a, port: 80, nodePort: 30080}"))
    assert only(findings, "service-port").message == (
        "spec.ports[0].nodePort is 30080; nodePort may not be used when type is ClusterIP")
    assert check_native(service("- {name: a, port: 80, nodePort: 30080}", type="NodePort")) == []


def test_service_in_another_group_is_not_checked_as_a_core_service():
    knative = doc("""
        apiVersion: serving.knative.dev/v1
        kind: Service
        metadata: {name: s}
        spec: {template: {}}
    """)
    assert check_native(knative) == []


# ---------------------------------------------------------------- containers


def test_container_port_0_rejected():
    finding = only(check_native(pod("- {name: c, image: busybox, ports: [{containerPort: 0}]}")), "container-port")
    assert finding.path == "/spec/containers/0/ports/0/containerPort"
    assert finding.message == "spec.containers[0].ports[0].containerPort is 0; it must be between 1 and 65535, inclusive"


def test_container_port_names_are_iana_names_and_unique():
    containers = """
        - name: ray-head
          image: rayproject/ray:2.60.0-py311
          ports:
          - {containerPort: 6379, name: gcs-server}
          - {containerPort: 8265, name: dashboard}
          - {containerPort: 10001, name: client}
          - {containerPort: 8000, name: client}
          - {containerPort: 8080, name: metrics_port}
    """
    findings = check_native(pod(containers))
    assert [(f.path, f.rule) for f in findings] == [
        ("/spec/containers/0/ports/3/name", "container-port"),
        ("/spec/containers/0/ports/4/name", "container-port"),
    ]
    assert "'client' is a duplicate" in findings[0].message
    assert "'metrics_port' is not a valid port name" in findings[1].message


def test_container_names_unique_across_init_and_regular_containers():
    document = pod("- {name: Main, image: a}\n- {name: setup, image: b}", initContainers="[{name: setup, image: c}]")
    findings = check_native(document)
    assert [(f.path, f.rule) for f in findings] == [
        ("/spec/containers/0/name", "container-name"),
        ("/spec/containers/1/name", "container-name"),
    ]
    assert "'Main' is not a valid container name" in findings[0].message
    assert "'setup' is a duplicate" in findings[1].message


def test_volume_mount_must_name_a_volume():
    containers = """
        - name: ray-worker
          image: rayproject/ray:2.60.0-py311
          volumeMounts:
          - {name: dshm, mountPath: /dev/shm}
          - {name: logs, mountPath: /tmp/ray}
    """
    findings = check_native(pod(containers, volumes="[{name: dshm, emptyDir: {medium: Memory}}]"))
    finding = only(findings, "volume-mount")
    assert finding.path == "/spec/containers/0/volumeMounts/1/name"
    assert finding.message == "spec.containers[0].volumeMounts[1].name 'logs' names no volume of the pod (volumes: dshm)"


# ---------------------------------------------------------------- resources

GPU = "nvidia.com/gpu"


def gpu_container(resources: str) -> Document:
    return pod(f"- name: worker\n  image: rayproject/ray:2.60.0-py311-gpu\n  resources: {resources}")


def test_gpu_request_without_limit_rejected():
    finding = only(check_native(gpu_container("{requests: {nvidia.com/gpu: 1}}")), "extended-resource")
    assert finding.path == "/spec/containers/0/resources/requests/nvidia.com~1gpu"
    assert "no limit is set" in finding.message and "spec.containers[0].resources.requests['nvidia.com/gpu']" in finding.message


def test_gpu_request_different_from_limit_rejected():
    finding = only(check_native(gpu_container("{requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 2}}")), "extended-resource")
    assert finding.message == (
        "spec.containers[0].resources.requests['nvidia.com/gpu'] is 1 but the limit is 2; "
        "nvidia.com/gpu cannot be overcommitted, so the request must equal the limit")


@pytest.mark.parametrize("resources", [
    "{requests: {nvidia.com/gpu: 1}, limits: {nvidia.com/gpu: 1}}",
    "{requests: {nvidia.com/gpu: '1'}, limits: {nvidia.com/gpu: 1}}",  # same quantity, other spelling
    "{limits: {nvidia.com/gpu: 2}}",  # the request defaults to the limit
])
def test_gpu_request_equal_to_limit_accepted(resources):
    assert check_native(gpu_container(resources)) == []


def test_fractional_gpu_rejected():
    finding = only(check_native(gpu_container("{limits: {nvidia.com/gpu: 500m}}")), "extended-resource")
    assert finding.message == "spec.containers[0].resources.limits['nvidia.com/gpu'] is 500m; extended resources must be whole numbers"


def test_bare_gpu_resource_name_rejected():
    finding = only(check_native(gpu_container("{limits: {gpu: 1}}")), "resource-name")
    assert finding.path == "/spec/containers/0/resources/limits/gpu"
    assert "qualified with a domain, such as nvidia.com/gpu" in finding.message


@pytest.mark.parametrize("value", ["2 Gi", "1.5.3", "2GB", "-1Gi", "one", "1e999999999"])
def test_bad_quantities_rejected(value):
    finding = only(check_native(gpu_container(f"{{limits: {{memory: '{value}'}}}}")), "resource-quantity")
    assert finding.path == "/spec/containers/0/resources/limits/memory"
    assert f"'{value}'" in finding.message or value in finding.message


@pytest.mark.parametrize("value", ["2Gi", "1500M", "1.5G", "128974848", "129e6", "0.5"])
def test_good_quantities_accepted(value):
    assert check_native(gpu_container(f"{{limits: {{memory: '{value}'}}}}")) == []


def test_requests_above_limits_rejected_across_units():
    document = gpu_container("{requests: {cpu: 1500m, memory: 2Gi}, limits: {cpu: '1', memory: 2048Mi}}")
    finding = only(check_native(document), "resource-requests-exceed-limits")
    assert finding.path == "/spec/containers/0/resources/requests/cpu"
    assert finding.message == (
        "spec.containers[0].resources.requests['cpu'] is 1500m, more than the cpu limit of 1; "
        "a request must be less than or equal to its limit")


# ---------------------------------------------------------------- probes, workloads


def test_probe_port_and_handlers():
    containers = """
        - name: c
          image: a
          ports: [{containerPort: 8265, name: dashboard}]
          readinessProbe: {httpGet: {path: /, port: 70000}}
          livenessProbe: {exec: {command: [true]}, tcpSocket: {port: dashboard}, successThreshold: 2}
    """
    findings = check_native(pod(containers))
    assert sorted((f.path, f.rule) for f in findings) == [
        ("/spec/containers/0/livenessProbe", "probe"),
        ("/spec/containers/0/livenessProbe/successThreshold", "probe"),
        ("/spec/containers/0/readinessProbe/httpGet/port", "probe"),
    ]


def test_job_without_restart_policy_rejected():
    job = doc("""
        apiVersion: batch/v1
        kind: Job
        metadata: {name: train}
        spec:
          template:
            spec:
              containers: [{name: c, image: rayproject/ray:2.60.0-py311}]
    """)
    finding = only(check_native(job), "pod-restart-policy")
    assert finding.path == "/spec/template/spec/restartPolicy"
    assert "defaults to Always" in finding.message


def test_deployment_selector_must_match_template_labels():
    deployment = doc("""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {app: serve}}
          template:
            metadata: {labels: {app: server}}
            spec: {containers: [{name: c, image: a}]}
    """)
    finding = only(check_native(deployment), "workload-selector")
    assert finding.path == "/spec/selector/matchLabels/app"
    assert "selector does not match template labels" in finding.message


def test_cronjob_pod_spec_is_found_under_job_template():
    cronjob = doc("""
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: nightly}
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: Never
                  containers: [{name: c, image: a, ports: [{containerPort: 99999}]}]
    """)
    finding = only(check_native(cronjob), "container-port")
    assert finding.path == "/spec/jobTemplate/spec/template/spec/containers/0/ports/0/containerPort"


# ---------------------------------------------------------------- Ingress


def ingress(paths: str) -> Document:
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "dashboard"},
            "spec": {"rules": [{"host": "ray.example.com", "http": {"paths": value(paths)}}]}}
    return Document(source="test.yaml", index=0, body=body)


def test_ingress_path_type_is_case_sensitive():
    finding = only(check_native(ingress(
        "- {path: /, pathType: prefix, backend: {service: {name: ray-head-svc, port: {number: 8265}}}}")), "ingress-path-type")
    assert finding.path == "/spec/rules/0/http/paths/0/pathType"
    assert finding.message == (
        "spec.rules[0].http.paths[0].pathType is 'prefix'; it must be one of Exact, Prefix, "
        "ImplementationSpecific (did you mean Prefix? values are case-sensitive)")


def test_ingress_with_valid_paths_is_clean():
    assert check_native(ingress("""
        - {path: /, pathType: Prefix, backend: {service: {name: ray-head-svc, port: {number: 8265}}}}
        - {path: /serve, pathType: ImplementationSpecific, backend: {service: {name: ray-serve, port: {name: serve}}}}
    """)) == []


def test_ingress_backend_port_range_and_path_form():
    findings = check_native(ingress("""
        - {path: dashboard, pathType: Exact, backend: {service: {name: ray-head-svc, port: {number: 70000}}}}
        - {path: /a//b, pathType: Prefix, backend: {service: {name: ray-head-svc, port: {number: 80, name: http}}}}
    """))
    assert sorted((f.path, f.rule) for f in findings) == [
        ("/spec/rules/0/http/paths/0/backend/service/port/number", "ingress-backend-spec"),
        ("/spec/rules/0/http/paths/0/path", "ingress-path"),
        ("/spec/rules/0/http/paths/1/backend/service/port", "ingress-backend-spec"),
        ("/spec/rules/0/http/paths/1/path", "ingress-path"),
    ]


# ---------------------------------------------------------------- the reusable generator


def test_pod_spec_problems_on_a_ray_worker_template():
    """The Ray rules call this on RayCluster pod templates; it must survive any value."""
    template_spec = {
        "containers": [{
            "name": "ray-worker",
            "image": "rayproject/ray:2.60.0-py311-gpu",
            "resources": {"requests": {"nvidia.com/gpu": 1}},
        }],
    }
    path = ("spec", "workerGroupSpecs", 0, "template", "spec")
    problems = list(pod_spec_problems(template_spec, path))
    assert [(p, r) for p, r, _ in problems] == [
        ((*path, "containers", 0, "resources", "requests", "nvidia.com/gpu"), "extended-resource"),
    ]


@pytest.mark.parametrize("garbage", [None, 3, "x", [], [1, None], {"containers": "x"},
                                     {"containers": [{"ports": "x", "resources": [], "name": 5}]},
                                     {"containers": [{"resources": {"limits": {"cpu": None, 3: 4}}}]},
                                     {"volumes": {"a": 1}, "containers": [{"volumeMounts": [None, {"name": []}]}]}])
def test_pod_spec_problems_never_raises_on_wrong_types(garbage):
    list(pod_spec_problems(garbage, ("spec",)))


def test_every_rule_used_is_documented():
    assert all(doc_line and "\n" not in doc_line for doc_line in BUILTIN_RULES.values())


# ---------------------------------------------------------------- robustness

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from raygitops.checks.subjects import WORKLOAD_POD_SPEC_PATHS  # noqa: E402

_KEYS = st.sampled_from([
    "spec", "template", "jobTemplate", "containers", "initContainers", "ports", "port", "containerPort",
    "hostPort", "name", "resources", "limits", "requests", "nvidia.com/gpu", "cpu", "memory", "volumes",
    "volumeMounts", "mountPath", "livenessProbe", "httpGet", "tcpSocket", "grpc", "successThreshold",
    "selector", "matchLabels", "matchExpressions", "metadata", "labels", "rules", "http", "paths", "path",
    "pathType", "backend", "service", "number", "targetPort", "nodePort", "type", "clusterIP", "host",
    "defaultBackend", "restartPolicy", "image", "externalName", "key", "operator", "values",
])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                     st.text(max_size=12), st.sampled_from(["500m", "1e999999999", "Prefix", "None", "1"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)), max_leaves=40)
_KINDS = st.sampled_from([*WORKLOAD_POD_SPEC_PATHS, ("", "Service"), ("networking.k8s.io", "Ingress")])


@settings(max_examples=150, deadline=None)
@given(kind=_KINDS, spec=st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_check_native_never_raises_on_any_shape(kind, spec):
    group, name = kind
    body = {"apiVersion": f"{group}/v1" if group else "v1", "kind": name, "metadata": {"name": "x"}, "spec": spec,
            "template": spec}
    for finding in check_native(Document("f.yaml", 0, body)):
        assert finding.rule in BUILTIN_RULES or finding.rule == "metadata-label"
        assert finding.path.startswith("/") and finding.message


# ---------------------------------------------------------------- other built-in kinds (builtin-field)


def test_service_type_is_one_of_four():
    finding = only(check_native(service("- {port: 80}", type="Nodeport")), "service-spec")
    assert finding.path == "/spec/type"
    assert "'Nodeport' is not supported; expected one of ClusterIP, NodePort, LoadBalancer, ExternalName" in finding.message
    assert check_native(service("- {port: 80}", type="NodePort")) == []


def test_network_policy_types_and_ports():
    policy = """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: ray}
        spec:
          podSelector: {}
          policyTypes: [Ingress, egress]
          ingress:
          - ports: [{port: "1.5"}, {port: 8265, endPort: 8000}, {port: dashboard}]
        """
    findings = [f for f in check_native(doc(policy)) if f.rule == "builtin-field"]
    assert [f.path for f in findings] == [
        "/spec/policyTypes/1", "/spec/ingress/0/ports/0/port", "/spec/ingress/0/ports/1/endPort"]
    clean = policy.replace("egress]", "Egress]").replace('{port: "1.5"}, {port: 8265, endPort: 8000}', "{port: 8000, endPort: 8265}")
    assert check_native(doc(clean)) == []


@pytest.mark.parametrize("budget, problem", [
    ("maxUnavailable: -1", "must be greater than or equal to 0"),
    ("minAvailable: 150%", "must not be greater than 100%"),
    ("minAvailable: half", "must be an integer or a percentage"),
    ("{minAvailable: 1, maxUnavailable: 1}", "cannot be both set"),
])
def test_disruption_budget_bounds(budget, problem):
    spec = budget if budget.startswith("{") else "{" + budget + "}"
    text = f"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: ray}}\nspec: {spec}\n"
    assert problem in only(check_native(doc(text)), "builtin-field").message
    assert check_native(doc(text.replace("-1", "1").replace("150%", "50%").replace("half", "50%").replace(", maxUnavailable: 1", ""))) == []


def test_claim_needs_a_supported_access_mode():
    claim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec: {resources: {requests: {storage: 1Gi}}}\n"
    assert only(check_native(doc(claim)), "builtin-field").path == "/spec/accessModes"
    assert only(check_native(doc(claim.replace("spec: {", "spec: {accessModes: [ReadWriteSome], "))), "builtin-field").path == "/spec/accessModes/0"
    assert check_native(doc(claim.replace("spec: {", "spec: {accessModes: [ReadWriteOnce], "))) == []


def test_priority_class_preemption_policy():
    text = "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: ray}\nvalue: 1000\npreemptionPolicy: Always\n"
    assert only(check_native(doc(text)), "builtin-field").path == "/preemptionPolicy"
    assert check_native(doc(text.replace("Always", "Never"))) == []


def test_role_binding_refers_to_an_rbac_role():
    """A roleRef outside rbac.authorization.k8s.io, or a ClusterRoleBinding to a Role, is rejected; an absent or empty apiGroup is defaulted."""
    binding = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ray, namespace: ray}\n"
               "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ray}\nsubjects: [{kind: ServiceAccount, name: ray}]\n")
    assert check_native(doc(binding)) == []
    assert check_native(doc(binding.replace("apiGroup: rbac.authorization.k8s.io, ", ""))) == []
    assert check_native(doc(binding.replace("apiGroup: rbac.authorization.k8s.io", "apiGroup: ''"))) == []
    assert only(check_native(doc(binding.replace("apiGroup: rbac.authorization.k8s.io", "apiGroup: rbac"))), "builtin-field").path == "/roleRef/apiGroup"
    cluster_binding = binding.replace("kind: RoleBinding", "kind: ClusterRoleBinding").replace(", namespace: ray", "")
    assert only(check_native(doc(cluster_binding)), "builtin-field").path == "/roleRef/kind"
    assert check_native(doc(cluster_binding.replace("kind: Role,", "kind: ClusterRole,"))) == []


def test_namespace_pod_security_labels_name_a_level_and_version():
    text = ("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ray\n  labels:\n"
            "    pod-security.kubernetes.io/enforce: strict\n    pod-security.kubernetes.io/warn-version: '1.33'\n")
    paths = [f.path for f in check_native(doc(text)) if f.rule == "builtin-field"]
    assert paths == ["/metadata/labels/pod-security.kubernetes.io~1enforce", "/metadata/labels/pod-security.kubernetes.io~1warn-version"]
    assert check_native(doc(text.replace("strict", "restricted").replace("'1.33'", "v1.33"))) == []


def test_privileged_container_cannot_forbid_escalation():
    findings = check_native(pod("- {name: c, image: busybox, securityContext: {privileged: true, allowPrivilegeEscalation: false}}"))
    assert only(findings, "container-security-context").path == "/spec/containers/0/securityContext/privileged"
    assert check_native(pod("- {name: c, image: busybox, securityContext: {privileged: true}}")) == []


def test_ingress_needs_rules_or_a_default_backend():
    text = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ray}\nspec: {ingressClassName: nginx}\n"
    assert only(check_native(doc(text)), "ingress-backend-spec").path == "/spec"
    with_backend = text.replace("nginx}", "nginx, defaultBackend: {service: {name: ray-head-svc, port: {number: 8265}}}}")
    assert check_native(doc(with_backend)) == []


def test_service_without_spec_needs_ports():
    assert only(check_native(doc("apiVersion: v1\nkind: Service\nmetadata: {name: ray}\n")), "service-spec").path == "/spec/ports"


def test_network_policy_peer_names_one_kind_of_peer():
    text = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ray}\n"
            "spec: {podSelector: {}, ingress: [{from: [{}, {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]}\n")
    paths = [f.path for f in check_native(doc(text)) if f.rule == "builtin-field"]
    assert paths == ["/spec/ingress/0/from/0", "/spec/ingress/0/from/1"]
    assert check_native(doc(text.replace("{}, {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}", "{namespaceSelector: {}}"))) == []


def test_claim_needs_a_storage_request():
    claim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec: {accessModes: [ReadWriteOnce]}\n"
    assert only(check_native(doc(claim)), "builtin-field").path == "/spec/resources"
