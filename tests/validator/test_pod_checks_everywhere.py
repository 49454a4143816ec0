"""A Ray pod gets every native pod check a Deployment's pod gets, with paths into the Ray resource.

The API server checks a Deployment's pod template at apply time, but a RayCluster's only when
the operator creates the pod, minutes later, as a FailedCreate event; raygitops says it at once.
"""

from __future__ import annotations

import pytest

from raygitops.checks.registry import NATIVE, check
from raygitops.engine import Options, validate
from raygitops.inputs.documents import load_stream
from raygitops.inputs.sources import Source

# One container with the defects users hit: a mount of an undeclared volume, a port out of range,
# a GPU request different from its limit, a quantity that is not one, a probe without a handler;
# and a label the API server rejects on the template.
DEFECTIVE_CONTAINER = (
    "{name: ray-head, image: 'rayproject/ray:2.60.0-py311', "
    "ports: [{containerPort: 70000}], "
    "volumeMounts: [{name: missing, mountPath: /data}], "
    "readinessProbe: {periodSeconds: 5}, "
    "resources: {limits: {cpu: '2 cores', nvidia.com/gpu: 2}, requests: {nvidia.com/gpu: 1}}}"
)
DEFECTIVE_TEMPLATE = "{metadata: {labels: {app: web, tier: 'not a label value'}}, spec: {containers: [" + DEFECTIVE_CONTAINER + "]}}"

DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
    "spec: {selector: {matchLabels: {app: web}}, template: " + DEFECTIVE_TEMPLATE + "}\n"
)
GOOD_TEMPLATE = "{spec: {containers: [{name: ray, image: 'rayproject/ray:2.60.0-py311'}]}}"


def cluster_spec(head: str, worker: str) -> str:
    return ("{rayVersion: '2.60.0', headGroupSpec: {template: " + head + "}, "
            "workerGroupSpecs: [{groupName: cpu, replicas: 1, minReplicas: 1, maxReplicas: 1, template: " + worker + "}]}")


def ray_document(kind: str, where: str) -> tuple[str, str]:
    """A Ray resource with the defective template at `where` (head, worker, submitter); its pod spec pointer."""
    head = DEFECTIVE_TEMPLATE if where == "head" else GOOD_TEMPLATE
    worker = DEFECTIVE_TEMPLATE if where == "worker" else GOOD_TEMPLATE
    embedded = cluster_spec(head, worker)
    group = "/headGroupSpec/template/spec" if where == "head" else "/workerGroupSpecs/0/template/spec"
    if kind == "RayCluster":
        return f"apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {{name: rc}}\nspec: {embedded}\n", "/spec" + group
    if kind == "RayService":
        return (f"apiVersion: ray.io/v1\nkind: RayService\nmetadata: {{name: svc}}\nspec: {{rayClusterConfig: {embedded}}}\n",
                "/spec/rayClusterConfig" + group)
    submitter = ", submitterPodTemplate: " + DEFECTIVE_TEMPLATE if where == "submitter" else ""
    job = "{entrypoint: python train.py, rayClusterSpec: " + embedded + submitter + "}"
    if kind == "RayJob":
        pointer = "/spec/submitterPodTemplate/spec" if where == "submitter" else "/spec/rayClusterSpec" + group
        return f"apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {{name: job}}\nspec: {job}\n", pointer
    pointer = "/spec/jobTemplate" + ("/submitterPodTemplate/spec" if where == "submitter" else "/rayClusterSpec" + group)
    return (f"apiVersion: ray.io/v1\nkind: RayCronJob\nmetadata: {{name: cron}}\n"
            f"spec: {{schedule: '0 3 * * *', jobTemplate: {job}}}\n", pointer)


def pod_errors(text: str, pod_pointer: str, schema_store) -> set[tuple[str, str]]:
    """The native pod findings, as (rule, pointer below the pod template)."""
    documents, findings = load_stream(text, "pods.yaml")
    assert findings == []
    report = validate([Source("pods.yaml", documents)], schema_store, Options())
    template_pointer = pod_pointer.removesuffix("/spec")
    found: set[tuple[str, str]] = set()
    for finding in report.findings:
        if finding.rule == "metadata-label" or check(finding.rule).category == NATIVE:
            assert finding.path.startswith(template_pointer), (finding.rule, finding.path)
            assert finding.severity.value == "error"
            found.add((finding.rule, finding.path.removeprefix(template_pointer)))
    return found


@pytest.fixture(scope="module")
def deployment_errors(schema_store) -> set[tuple[str, str]]:
    return pod_errors(DEPLOYMENT, "/spec/template/spec", schema_store)


def test_the_deployment_template_has_every_defect(deployment_errors) -> None:
    assert {rule for rule, _ in deployment_errors} == {
        "container-port", "volume-mount", "probe", "extended-resource", "resource-quantity", "metadata-label",
    }


@pytest.mark.parametrize("kind, where", [
    ("RayCluster", "head"), ("RayCluster", "worker"),
    ("RayJob", "head"), ("RayJob", "submitter"),
    ("RayService", "worker"),
    ("RayCronJob", "worker"), ("RayCronJob", "submitter"),
])
def test_a_ray_pod_template_gets_the_same_errors_as_a_deployment(kind, where, deployment_errors, schema_store) -> None:
    text, pod_pointer = ray_document(kind, where)
    assert pod_errors(text, pod_pointer, schema_store) == deployment_errors


def test_the_message_names_the_field_inside_the_ray_resource(schema_store) -> None:
    text, _ = ray_document("RayCluster", "worker")
    documents, _ = load_stream(text, "rc.yaml")
    report = validate([Source("rc.yaml", documents)], schema_store, Options())
    [mount] = [f for f in report.findings if f.rule == "volume-mount"]
    assert mount.path == "/spec/workerGroupSpecs/0/template/spec/containers/0/volumeMounts/0/name"
    assert "spec.workerGroupSpecs[0].template.spec.containers[0]" in mount.message
