"""Input that is not a plain manifest: unrendered templates, CI workflows, Helm charts."""

from __future__ import annotations

from raygitops.engine import Options, validate
from raygitops.findings import Severity
from raygitops.inputs.sources import load_paths

from .conftest import errors, of_rule

TEMPLATED_JOB = """\
apiVersion: ray.io/v1
kind: RayJob
metadata: {name: 'train-${JOB_ID}'}
spec:
  entrypoint: python train.py --run $RUN_NAME
  rayClusterSpec:
    rayVersion: '2.60.0'
    headGroupSpec:
      template:
        spec:
          containers:
          - name: ray-head
            image: rayproject/ray:2.60.0
            args: ["echo $HOME; ray start --head"]
    workerGroupSpecs:
    - groupName: workers
      replicas: $INITIAL_WORKERS
      template:
        spec:
          containers: [{name: w, image: rayproject/ray:2.60.0}]
"""


def test_an_unrendered_template_gets_one_finding_instead_of_a_cascade(validator) -> None:
    report = validator.file(TEMPLATED_JOB)
    assert [f.rule for f in report.findings] == ["unrendered-template"]
    [finding] = report.findings
    assert finding.severity is Severity.WARNING
    assert "'train-${JOB_ID}' and 1 more" in finding.message and "envsubst or helm" in finding.message


def test_shell_variables_in_commands_are_not_placeholders(validator) -> None:
    report = validator.file(TEMPLATED_JOB.replace("'train-${JOB_ID}'", "train").replace("$INITIAL_WORKERS", "2"))
    assert of_rule(report, "unrendered-template") == []


WORKFLOW = """\
name: ci
on: [push]
jobs:
  test: {runs-on: ubuntu-latest, steps: [{run: make test}]}
"""


def test_a_ci_workflow_is_skipped_with_one_line(validator) -> None:
    report = validator.file(WORKFLOW, name=".github/workflows/ci.yaml")
    assert errors(report) == []
    [finding] = report.findings
    assert finding.rule == "not-a-manifest" and "skipped" in finding.message


def test_a_helm_chart_folder_says_to_render_it_first(schema_store, tmp_path) -> None:
    chart = tmp_path / "charts" / "ray"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: ray\nversion: 0.1.0\n")
    (chart / "templates" / "cluster.yaml").write_text("apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: {{ .Release.Name }}}\n")
    report = validate(load_paths([str(tmp_path)]), schema_store, Options())
    [finding] = report.findings
    assert finding.rule == "helm-chart" and "helm template" in finding.message


def test_unknown_api_version_names_the_kubernetes_version_that_serves_it(validator) -> None:
    report = validator.file("apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata: {name: gpu}\nspec: {}\n")
    [finding] = errors(report)
    assert finding.rule == "unknown-api-version"
    assert "--kubernetes-version 1.34 accepts it" in finding.message


HELM_TEMPLATE = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: {{ .Release.Name }}
spec:
  rayVersion: {{ .Values.rayVersion | quote }}
  headGroupSpec:
    template:
{{ toYaml .Values.head.template | indent 6 }}
"""


def test_a_helm_template_file_given_alone_gets_one_finding_not_yaml_errors(validator) -> None:
    report = validator.file(HELM_TEMPLATE, name="templates/raycluster.yaml")
    assert [f.rule for f in report.findings] == ["unrendered-template"]
    assert "helm template" in report.findings[0].message
