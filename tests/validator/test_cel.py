"""x-kubernetes-validations (CEL) rules, evaluated with the real `cel` library: the CRD's own
message on a violation, nothing on a valid object, and transition (oldSelf) rules skipped."""

from __future__ import annotations

import textwrap

import pytest

from raygitops.schema import cel
from raygitops.inputs.documents import Document, load_stream
from raygitops.findings import Finding, Severity
from raygitops.schema.store import ResourceSchema, SchemaStore
from raygitops.schema.structural import validate_object

RAYJOB = """
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: nightly}
spec:
  entrypoint: python train.py
  DELETION
  rayClusterSpec:
    headGroupSpec:
      rayStartParams: {}
      template:
        spec:
          containers: [{name: ray-head, image: rayproject/ray:2.60.0-py311}]
"""

LEGACY = "deletionStrategy:\n    onSuccess: {policy: DeleteCluster}\n    onFailure: {policy: DeleteNone}"
RULES = "deletionStrategy:\n    deletionRules:\n    - {policy: DeleteCluster, condition: {jobStatus: SUCCEEDED, ttlSeconds: 60}}"
BOTH = LEGACY + "\n    deletionRules:\n    - {policy: DeleteCluster, condition: {jobStatus: SUCCEEDED}}"


def validate(store: SchemaStore, text: str) -> list[Finding]:
    documents, findings = load_stream(textwrap.dedent(text), "test.yaml")
    assert not findings and len(documents) == 1, findings
    document = documents[0]
    return validate_object(document, store.schema_for(document.api_version, document.kind))


def summary(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.rule, f.path, f.message) for f in findings]


@pytest.mark.parametrize("deletion", [LEGACY, RULES], ids=["legacy-policies", "deletion-rules"])
def test_rayjob_deletion_strategy_in_one_style_passes(schema_store, deletion):
    assert validate(schema_store, RAYJOB.replace("DELETION", deletion)) == []


def test_rayjob_deletion_strategy_mixing_both_styles_fails_with_the_crd_message(schema_store):
    findings = validate(schema_store, RAYJOB.replace("DELETION", BOTH))
    assert summary(findings) == [(
        "cel-rule",
        "/spec/deletionStrategy",
        "spec.deletionStrategy: legacy policies (onSuccess/onFailure) and deletionRules cannot be used "
        "together within the same deletionStrategy",
    )]
    assert findings[0].severity is Severity.ERROR


def test_rayjob_deletion_strategy_with_only_on_success_fails(schema_store):
    findings = validate(schema_store, RAYJOB.replace("DELETION", "deletionStrategy:\n    onSuccess: {policy: DeleteCluster}"))
    assert [f.rule for f in findings] == ["cel-rule"]
    assert "requires either BOTH onSuccess and onFailure, OR the deletionRules field" in findings[0].message


def test_deletion_rule_condition_rule_runs_per_list_item(schema_store):
    text = RAYJOB.replace("DELETION", RULES + "\n    - {policy: DeleteWorkers, condition: {jobStatus: FAILED, jobDeploymentStatus: Failed}}")
    findings = validate(schema_store, text)
    assert summary(findings) == [(
        "cel-rule",
        "/spec/deletionStrategy/deletionRules/1/condition",
        "spec.deletionStrategy.deletionRules[1].condition: JobStatus and JobDeploymentStatus cannot be used "
        "together within the same deletion condition.",
    )]


RAYCLUSTER = """
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: demo}
spec:
  MANAGED_BY
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        containers: [{name: ray-head, image: rayproject/ray:2.60.0-py311}]
"""


def test_raycluster_managed_by_an_allowed_controller_passes_and_oldself_rule_is_skipped(schema_store):
    # managedBy also carries `self == oldSelf` (immutability): an update-only rule, so no
    # finding of any kind (not even "could not evaluate") may come from it on a create.
    assert validate(schema_store, RAYCLUSTER.replace("MANAGED_BY", "managedBy: kueue.x-k8s.io/multikueue")) == []


def test_raycluster_managed_by_another_controller_fails_with_the_crd_message(schema_store):
    findings = validate(schema_store, RAYCLUSTER.replace("MANAGED_BY", "managedBy: example.com/my-operator"))
    assert summary(findings) == [(
        "cel-rule",
        "/spec/managedBy",
        "spec.managedBy: the managedBy field value must be either 'ray.io/kuberay-operator' or "
        "'kueue.x-k8s.io/multikueue'",
    )]


# ---------------------------------------------------------------- rule mechanics on a schema of our own


def gadget(validations: list[dict]) -> ResourceSchema:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}, "name": {"type": "string"}},
                "x-kubernetes-validations": validations,
            }
        },
    }
    return ResourceSchema("example.com", "v1", "Gadget", is_crd=True, namespaced=True, schema=schema)


def gadget_findings(validations: list[dict], spec: dict) -> list[Finding]:
    document = Document("test.yaml", 0, {"apiVersion": "example.com/v1", "kind": "Gadget",
                                          "metadata": {"name": "g"}, "spec": spec})
    return validate_object(document, gadget(validations))


def test_oldself_rules_are_not_compiled_for_creates():
    rules = cel.rules_for([{"rule": "self == oldSelf"}, {"rule": "self.min <= self.max", "message": "m"}])
    assert [r.rule for r in rules] == ["self.min <= self.max"]


def test_message_expression_and_field_path():
    validations = [{
        "rule": "self.min <= self.max",
        "messageExpression": "'min ' + string(self.min) + ' exceeds max ' + string(self.max)",
        "message": "min must not exceed max",
        "fieldPath": ".min",
    }]
    assert gadget_findings(validations, {"min": 1, "max": 2}) == []
    findings = gadget_findings(validations, {"min": 3, "max": 2})
    assert summary(findings) == [("cel-rule", "/spec/min", "spec.min: min 3 exceeds max 2")]


def test_rule_without_message_reports_the_rule():
    findings = gadget_findings([{"rule": "self.name.startsWith('ray-')"}], {"name": "job"})
    assert summary(findings) == [("cel-rule", "/spec", "spec: failed rule: self.name.startsWith('ray-')")]


def test_evaluation_error_is_an_error_like_the_api_server():
    # `self.name` is absent: cel-go fails with "no such key", and the API server rejects the object.
    findings = gadget_findings([{"rule": "self.name.size() > 0"}], {"min": 1})
    assert [(f.rule, f.severity) for f in findings] == [("cel-error", Severity.ERROR)]
    assert "no such key" in findings[0].message


def test_function_the_library_lacks_is_a_warning_not_a_pass():
    findings = gadget_findings([{"rule": "isURL(self.name)"}], {"name": "https://example.com"})
    assert [(f.rule, f.severity) for f in findings] == [("cel-unsupported", Severity.WARNING)]
    assert "isURL" in findings[0].message


def test_rules_are_compiled_once_per_schema_list():
    validations = [{"rule": "has(self.min)"}]
    assert cel.rules_for(validations) is cel.rules_for(validations)


@pytest.mark.parametrize(
    ("field_path", "parts"),
    [(".spec.ports[0]", ("spec", "ports", 0)), ("['a.b'].c", ("a.b", "c")), ("", ()), ("no-dot", ())],
)
def test_field_path_parsing(field_path, parts):
    assert cel.parse_field_path(field_path) == parts
