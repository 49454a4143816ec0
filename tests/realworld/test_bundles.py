"""What a bundle is, and references to objects outside it: errors only where the bundle is known complete."""

from __future__ import annotations

from raygitops.engine import Options, validate
from raygitops.findings import Severity
from raygitops.inputs.sources import load_paths

from .conftest import errors, of_rule

# A RayService in the style of LLM tutorials: the Hugging Face token Secret is created with
# `kubectl create secret`, never in git.
SERVICE = """\
apiVersion: ray.io/v1
kind: RayService
metadata: {name: llm}
spec:
  serveConfigV2: |
    applications: [{name: llm, import_path: serve_llm:app}]
  rayClusterConfig:
    rayVersion: '2.60.0'
    headGroupSpec:
      template:
        spec:
          imagePullSecrets: [{name: registry-creds}]
          containers:
          - name: ray-head
            image: rayproject/ray:2.60.0
            env:
            - name: HF_TOKEN
              valueFrom: {secretKeyRef: {name: hf-token, key: token}}
          volumes:
          - name: code
            configMap:
              name: serve-code
              items: [{key: serve_llm.py, path: serve_llm.py}, {key: utils.py, path: utils.py}, {key: conf.yaml, path: conf.yaml}]
    workerGroupSpecs: []
"""


def test_a_file_alone_reports_what_it_references_outside_as_warnings(validator) -> None:
    report = validator.file(SERVICE)
    assert errors(report) == []
    [secret] = [f for f in of_rule(report, "secret-reference") if "hf-token" in f.message]
    assert secret.severity is Severity.WARNING
    assert "external: [Secret/hf-token]" in secret.message and "raygitops.io/external" in secret.message
    assert "the file alone" in report.bundles[secret.source]


def test_one_finding_per_reference_not_per_items_key(validator) -> None:
    report = validator.file(SERVICE)
    assert len(of_rule(report, "configmap-reference")) == 1


def test_complete_bundle_makes_missing_references_errors_but_not_pull_secrets(validator) -> None:
    report = validator.file(SERVICE, complete=True)
    by_name = {f.message.split("'")[1]: f.severity for f in of_rule(report, "secret-reference")}
    assert by_name == {"hf-token": Severity.ERROR, "registry-creds": Severity.WARNING}
    assert of_rule(report, "configmap-reference")[0].severity is Severity.ERROR
    assert "complete" in next(iter(report.bundles.values()))


def test_a_kustomization_is_complete(schema_store, tmp_path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "service.yaml").write_text(SERVICE)
    (tmp_path / "app" / "kustomization.yaml").write_text("resources: [service.yaml]\n")
    report = validate(load_paths([str(tmp_path / "app")]), schema_store, Options())
    assert {f.rule for f in errors(report)} == {"secret-reference", "configmap-reference"}
    assert "kustomization" in report.bundles[str(tmp_path / "app")]


POD_MONITOR = """\
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: ray-workers}
spec:
  selector: {matchLabels: {ray.io/node-type: worker}}
  podMetricsEndpoints: [{port: metrics}]
"""


def test_a_monitor_for_pods_deployed_elsewhere_is_a_warning_alone(validator) -> None:
    report = validator.file(POD_MONITOR)
    [finding] = of_rule(report, "podmonitor-target")
    assert finding.severity is Severity.WARNING
    [finding] = of_rule(validator.file(POD_MONITOR, complete=True), "podmonitor-target")
    assert finding.severity is Severity.ERROR


def test_a_pvc_or_service_account_made_elsewhere_is_a_warning_alone(validator) -> None:
    job = SERVICE.replace("imagePullSecrets: [{name: registry-creds}]",
                          "serviceAccountName: ray-head\n          imagePullSecrets: [{name: registry-creds}]")
    job = job.replace("          - name: code\n", "          - {name: models, persistentVolumeClaim: {claimName: model-store}}\n          - name: code\n")
    report = validator.file(job)
    assert {f.rule: f.severity for f in report.findings if f.rule in ("pvc-reference", "serviceaccount-reference")} == {
        "pvc-reference": Severity.WARNING, "serviceaccount-reference": Severity.WARNING}
    strict = validator.file(job, complete=True)
    assert {f.rule for f in errors(strict)} >= {"pvc-reference", "serviceaccount-reference"}
