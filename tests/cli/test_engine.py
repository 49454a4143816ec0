"""The engine's per-document stages, and what each schema engine leaves to raygitops."""

from __future__ import annotations

from raygitops.inputs.documents import load_stream
from raygitops.engine import Options, document_findings

# A RayJob that breaks a CEL rule of the CRD (legacy onSuccess/onFailure mixed with deletionRules)
# and has a field of the wrong type (a schema check), and omits submissionMode (a CRD default).
RAYJOB = """\
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: train}
spec:
  entrypoint: python train.py
  shutdownAfterJobFinishes: "yes"
  deletionStrategy:
    onSuccess: {policy: DeleteCluster}
    onFailure: {policy: DeleteCluster}
    deletionRules:
    - {policy: DeleteCluster, condition: {jobStatus: SUCCEEDED}}
"""


def findings_for(engine: str, schema_store):
    [document], _ = load_stream(RAYJOB, "job.yaml")
    return document, document_findings(document, schema_store, Options(engine=engine))


def test_builtin_engine_reports_schema_and_cel(schema_store):
    _, findings = findings_for("builtin", schema_store)
    assert {(f.rule, f.path) for f in findings} == {
        ("schema-type", "/spec/shutdownAfterJobFinishes"),
        ("cel-rule", "/spec/deletionStrategy"),
    }


def test_kubeconform_engine_keeps_cel_and_defaults_and_leaves_the_schema_to_kubeconform(schema_store):
    document, findings = findings_for("kubeconform", schema_store)
    [cel] = findings
    assert cel.rule == "cel-rule" and "cannot be used together" in cel.message
    # kubeconform then sees the body as the API server stores it: defaults applied.
    assert document.body["spec"]["submissionMode"] == "K8sJobMode"
