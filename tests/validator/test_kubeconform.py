"""The --engine kubeconform backend: standalone schemas in kubeconform's layout, and its
JSON output mapped back to findings.

The parsing tests read recorded output of older releases (tests/validator/fixtures/kubeconform,
see its README) and say so in their names. The tests marked `kubeconform` run the real binary,
v0.7.0 as pinned by tools/kubeconform/go.mod and built by `make tools`; where it is missing
they fail and say to run `make tools`, they are never skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from raygitops.inputs.documents import Document
from raygitops.findings import Severity
from raygitops.engines.kubeconform import (
    KubeconformError,
    default_schema_dir,
    location_template,
    parse_kubeconform_output,
    run_kubeconform,
    schema_file_name,
    write_standalone_schemas,
)
from raygitops.tools import find_tool

RECORDED = Path(__file__).parent / "fixtures" / "kubeconform"


def recorded(name: str) -> str:
    return (RECORDED / name).read_text()


def bundle(count: int = 5) -> list[Document]:
    """Stand-ins for the documents kubeconform was run on: doc-N.yaml is documents[N]."""
    identities = [
        ("v1", "ConfigMap", "ray-job-code"),
        ("v1", "Service", "raycluster-kuberay-head-svc"),
        ("ray.io/v1", "RayCluster", "raycluster-kuberay"),
        ("ray.io/v1", "RayJob", "rayjob-train"),
        ("v1", "ConfigMap", "broken"),
    ]
    return [
        Document(source="overlays/gpu", index=position, body={
            "apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "ray"}})
        for position, (api_version, kind, name) in enumerate(identities[:count])
    ]


# ---------------------------------------------------------------- parsing recorded output


def test_parses_recorded_kubeconform_output_v0_6_each_validation_error_is_a_finding():
    documents = bundle()
    findings = parse_kubeconform_output(recorded("v0.6-invalid.json"), documents)
    assert [(f.index, f.kind, f.name, f.rule, f.path) for f in findings] == [
        (1, "Service", "raycluster-kuberay-head-svc", "kubeconform", "/spec"),
        (2, "RayCluster", "raycluster-kuberay", "kubeconform", "/spec/workerGroupSpecs/0/replicas"),
        (2, "RayCluster", "raycluster-kuberay", "kubeconform", "/spec/headGroupSpec/template/spec/containers/0"),
        (2, "RayCluster", "raycluster-kuberay", "kubeconform", "/spec/upgradeStrategy/type"),
        (4, "ConfigMap", "broken", "kubeconform-error", ""),
    ]
    assert all(f.severity is Severity.ERROR and f.source == "overlays/gpu" and f.namespace == "ray" for f in findings)
    assert findings[0].message == "spec: additionalProperties 'portz' not allowed"
    assert findings[1].message == "spec.workerGroupSpecs[0].replicas: expected integer, but got string"
    assert findings[4].message == "kubeconform could not validate the resource: error while parsing: missing 'kind' key"


def test_parses_recorded_kubeconform_output_v0_7_verbose_skips_valid_and_skipped():
    findings = parse_kubeconform_output(recorded("v0.7-invalid.json"), bundle())
    assert [(f.index, f.path, f.message) for f in findings] == [
        (1, "/spec", "spec: additional properties 'portz' not allowed"),
        (1, "/spec/ports/0/port", "spec.ports[0].port: got string, want integer"),
        (3, "/spec/rayClusterSpec/workerGroupSpecs/0/template/metadata/labels/ray.io~1node-type",
         "spec.rayClusterSpec.workerGroupSpecs[0].template.metadata.labels.ray.io/node-type: got number, want string"),
    ]


def test_parses_recorded_kubeconform_output_v0_5_without_paths_keeps_the_message():
    finding, = parse_kubeconform_output(recorded("v0.5-invalid-no-paths.json"), bundle(1))
    assert (finding.index, finding.path, finding.rule) == (0, "", "kubeconform")
    assert finding.message == "For field spec.replicas: Invalid type. Expected: [integer,null], given: string"


def test_parses_recorded_kubeconform_output_message_when_validation_errors_are_empty():
    data = json.loads(recorded("v0.7-invalid.json"))
    for resource in data["resources"]:
        resource.pop("validationErrors", None)  # as a build without per-error paths writes it
    findings = parse_kubeconform_output(json.dumps(data), bundle())
    assert [(f.index, f.path) for f in findings] == [
        (1, "/spec"), (1, "/spec/ports/0/port"),
        (3, "/spec/rayClusterSpec/workerGroupSpecs/0/template/metadata/labels/ray.io~1node-type"),
    ]


def test_parses_recorded_kubeconform_output_for_files_not_written_by_us():
    data = json.loads(recorded("v0.6-invalid.json"))
    data["resources"][0]["filename"] = "rendered/gpu.yaml"
    finding = parse_kubeconform_output(json.dumps(data), bundle())[0]
    assert (finding.index, finding.name) == (1, "raycluster-kuberay-head-svc")  # matched by identity


@pytest.mark.parametrize("stdout", ["", "Summary: 1 resource found", "[]", '{"resources": 3}'])
def test_unreadable_kubeconform_output_is_an_error_not_a_traceback(stdout):
    with pytest.raises(KubeconformError):
        parse_kubeconform_output(stdout, bundle())


def test_missing_kubeconform_binary_is_a_clear_error():
    with pytest.raises(KubeconformError, match="'kubeconform-not-installed' was not found; run `make tools`"):
        run_kubeconform(bundle(), Path("/nonexistent"), binary="kubeconform-not-installed")


# ---------------------------------------------------------------- standalone schemas


@pytest.mark.parametrize("api_version, kind, expected", [
    ("v1", "Service", "service-v1.json"),
    ("apps/v1", "Deployment", "deployment-apps-v1.json"),
    ("ray.io/v1", "RayCluster", "raycluster-ray-v1.json"),
    ("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitor-monitoring-v1.json"),
    ("argoproj.io/v1alpha1", "ApplicationSet", "applicationset-argoproj-v1alpha1.json"),
])
def test_schema_file_names_follow_kubeconforms_kind_suffix(api_version, kind, expected):
    assert schema_file_name(api_version, kind) == expected


@pytest.fixture(scope="module")
def schema_dir(schema_store, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kubeconform-schemas")
    template = write_standalone_schemas(schema_store, out)
    assert template == f"{out.resolve()}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
    return out


def validator(schema_dir: Path, api_version: str, kind: str) -> Draft7Validator:
    schema = json.loads((schema_dir / schema_file_name(api_version, kind)).read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def test_standalone_schemas_cover_every_kind_of_the_store(schema_store, schema_dir):
    written = {p.name for p in schema_dir.glob("*.json")} - {"raygitops-schemas.json"}
    expected = {schema_file_name(s.api_version, s.kind) for s in schema_store.all_schemas()}
    assert written == expected
    assert {"raycluster-ray-v1.json", "rayjob-ray-v1.json", "service-v1.json", "podmonitor-monitoring-v1.json"} <= written


def test_standalone_schemas_are_strict_self_contained_json_schemas(schema_dir):
    """Checked with the jsonschema package (draft 7), the dialect kubeconform reads."""
    service = validator(schema_dir, "v1", "Service")
    good = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ray-head"},
            "spec": {"selector": {"ray.io/node-type": "head"}, "ports": [{"name": "gcs", "port": 6379, "targetPort": "gcs"}]}}
    assert list(service.iter_errors(good)) == []
    bad = {**good, "spec": {**good["spec"], "portz": [1]}}
    errors = [(list(e.absolute_path), e.validator) for e in service.iter_errors(bad)]
    assert errors == [(["spec"], "additionalProperties")]
    assert "$ref" not in (schema_dir / "raycluster-ray-v1.json").read_text()


def test_standalone_crd_schema_keeps_preserved_fields_open_and_the_rest_strict(schema_dir):
    raycluster = validator(schema_dir, "ray.io/v1", "RayCluster")
    cluster = {
        "apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "raycluster-kuberay"},
        "spec": {
            "headGroupSpec": {
                "rayStartParams": {"dashboard-host": "0.0.0.0"},
                "template": {"spec": {"containers": [{
                    "name": "ray-head", "image": "rayproject/ray:2.60.0-py311",
                    "resources": {"limits": {"cpu": 1, "memory": "2Gi"}},
                    "ports": [{"containerPort": 6379, "name": "gcs-server"}]}]}},
            },
            "workerGroupSpecs": [{
                "groupName": "workers", "replicas": 1, "minReplicas": 1, "maxReplicas": 5,
                "rayStartParams": {},
                "template": {"spec": {"containers": [{"name": "ray-worker", "image": "rayproject/ray:2.60.0-py311"}]}},
            }],
        },
    }
    assert [e.message for e in raycluster.iter_errors(cluster)] == []
    cluster["spec"]["workerGroupSpecs"][0]["maxReplica"] = 5
    assert [(list(e.absolute_path), e.validator) for e in raycluster.iter_errors(cluster)] == [
        (["spec", "workerGroupSpecs", 0], "additionalProperties")]


def test_default_schema_dir_is_written_once_per_store(schema_store):
    first = default_schema_dir(schema_store)
    stamp = (first / "service-v1.json").stat().st_mtime_ns
    assert default_schema_dir(schema_store) == first
    assert (first / "service-v1.json").stat().st_mtime_ns == stamp
    assert location_template(first).endswith("/{{ .ResourceKind }}{{ .KindSuffix }}.json")


# ---------------------------------------------------------------- the real binary


@pytest.fixture(scope="module")
def kubeconform_binary() -> str:
    binary = find_tool("kubeconform")
    if binary is None:
        pytest.fail("kubeconform is missing: run `make tools` (make setup does) to build the pinned v0.7.0")
    return binary


@pytest.mark.kubeconform
def test_real_kubeconform_reports_an_unknown_field_and_accepts_a_valid_configmap(kubeconform_binary, schema_dir):
    service = Document("s.yaml", 0, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ray-head"},
                                     "spec": {"ports": [{"port": 6379}], "portz": 1}})
    config = Document("s.yaml", 1, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                    "data": {"a": "b"}})
    findings = run_kubeconform([service, config], schema_dir)
    assert [(f.index, f.rule, f.path) for f in findings] == [(0, "kubeconform", "/spec")]
    assert "portz" in findings[0].message


BAD_RAYCLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: bad-replicas}
spec:
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        containers: [{name: ray-head, image: "rayproject/ray:2.60.0-py311"}]
  workerGroupSpecs:
  - groupName: workers
    replicas: two
    rayStartParams: {}
    template:
      spec:
        containers: [{name: ray-worker, image: "rayproject/ray:2.60.0-py311"}]
"""


def validate_json(schema_cache_dir: Path, *args: str) -> tuple[int, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "raygitops", "validate", "-o", "json", *args],
        capture_output=True, text=True, timeout=300, env=os.environ | {"RAYGITOPS_CACHE_DIR": str(schema_cache_dir)},
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def schema_errors(report: dict) -> set[tuple[str, str]]:
    return {(f["kind"], f["path"]) for f in report["findings"] if f["severity"] == "error"}


@pytest.mark.kubeconform
def test_real_kubeconform_engine_gives_the_builtin_verdict_on_a_bad_raycluster(kubeconform_binary, tmp_path, schema_cache_dir):
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(BAD_RAYCLUSTER)
    builtin_code, builtin = validate_json(schema_cache_dir, str(cluster))
    external_code, external = validate_json(schema_cache_dir, "--engine", "kubeconform", str(cluster))
    assert builtin_code == external_code == 1
    assert ("RayCluster", "/spec/workerGroupSpecs/0/replicas") in schema_errors(external)
    assert schema_errors(external) == schema_errors(builtin)


@pytest.mark.kubeconform
def test_real_kubeconform_engine_accepts_every_overlay(kubeconform_binary, repo_root, schema_cache_dir):
    targets = [str(repo_root / t) for t in ("overlays/dev", "overlays/gpu", "overlays/prod", "argocd")]
    _, builtin = validate_json(schema_cache_dir, *targets)
    code, external = validate_json(schema_cache_dir, "--engine", "kubeconform", *targets)
    assert code == 0 and external["summary"]["errors"] == 0, external["findings"]
    assert external["summary"]["resources"] == builtin["summary"]["resources"] > 0
