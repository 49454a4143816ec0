"""`raygitops validate` as a user runs it: real processes, real kustomize, the real schema store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

RAYGITOPS = [sys.executable, "-m", "raygitops"]

# A RayCluster as KubeRay's samples write it: min/maxReplicas omitted (the CRD defaults them) and a
# template whose `metadata:` is left empty (null: the API server prunes it). kubeconform rejects both.
VALID_RAYCLUSTER = """\
apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: sample
spec:
  rayVersion: "2.60.0"
  headGroupSpec:
    rayStartParams: {}
    template:
      metadata:
      spec:
        containers:
        - name: ray-head
          image: rayproject/ray:2.60.0-py311
          resources:
            limits: {cpu: "1", memory: 2Gi}
  workerGroupSpecs:
  - groupName: workers
    replicas: 1
    rayStartParams: {}
    template:
      spec:
        containers:
        - name: ray-worker
          image: rayproject/ray:2.60.0-py311
          resources:
            limits: {cpu: "1", memory: 2Gi}
"""

BAD_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: dashboard
spec:
  ports:
  - name: dashboard
    port: 70000
"""


def run(args: list[str], env: dict[str, str], stdin: str | None = None, cwd: Path | None = None):
    return subprocess.run(
        [*RAYGITOPS, *args], input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_raycluster_with_defaulted_replicas_and_null_template_metadata_is_clean(cli_env, tmp_path):
    manifest = write(tmp_path, "cluster.yaml", VALID_RAYCLUSTER)
    result = run(["validate", "-o", "json", str(manifest)], cli_env)
    report = json.loads(result.stdout)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert errors == [] and result.returncode == 0, result.stdout
    assert report["summary"]["resources"] == 1


def test_service_port_out_of_range_exits_1_naming_the_field(cli_env, tmp_path):
    manifest = write(tmp_path, "svc.yaml", BAD_SERVICE)
    result = run(["validate", str(manifest)], cli_env)
    assert result.returncode == 1
    [line] = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert str(manifest) in line and "Service/dashboard" in line and "/spec/ports/0/port" in line
    assert "70000" in line


def test_stdin_and_json_summary(cli_env):
    result = run(["validate", "-o", "json", "-"], cli_env, stdin=VALID_RAYCLUSTER + "---\n" + BAD_SERVICE)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["summary"]["resources"] == 2 and report["summary"]["errors"] >= 1
    finding = next(f for f in report["findings"] if f["kind"] == "Service" and f["severity"] == "error")
    assert {"severity", "rule", "source", "index", "apiVersion", "kind", "namespace", "name", "path", "message"} <= set(finding)
    assert finding["source"] == "-" and finding["index"] == 1 and finding["path"] == "/spec/ports/0/port"


def test_junit_and_sarif_outputs_parse_and_carry_the_failure(cli_env, tmp_path):
    manifest = write(tmp_path, "svc.yaml", BAD_SERVICE)
    junit = run(["validate", "-o", "junit", str(manifest)], cli_env)
    root = ET.fromstring(junit.stdout.split("?>", 1)[1])
    failures = root.findall(".//testcase/failure")
    assert failures and any("70000" in f.get("message", "") for f in failures)
    sarif = json.loads(run(["validate", "-o", "sarif", str(manifest)], cli_env).stdout)
    results = sarif["runs"][0]["results"]
    assert sarif["version"] == "2.1.0" and any(r["level"] == "error" for r in results)
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == str(manifest)
    # Each rule that fired carries its doc from the registry and a link to its section of docs/rules.md.
    rules = {rule["id"]: rule for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    port = rules["service-port"]
    assert port["helpUri"].endswith("docs/rules.md#service-port")
    assert port["help"]["text"].startswith(port["shortDescription"]["text"])
    assert [rules[r["ruleId"]]["id"] for r in results] == [r["ruleId"] for r in results]


def test_kustomization_is_rendered_and_a_kustomize_error_names_the_overlay(cli_env, tmp_path):
    write(tmp_path, "good/kustomization.yaml", "resources:\n- cluster.yaml\n")
    write(tmp_path, "good/cluster.yaml", VALID_RAYCLUSTER)
    write(tmp_path, "broken/kustomization.yaml", "resources:\n- missing.yaml\n")
    result = run(["validate", "-o", "json", str(tmp_path / "good"), str(tmp_path / "broken")], cli_env)
    report = json.loads(result.stdout)
    assert result.returncode == 1
    [failure] = [f for f in report["findings"] if f["rule"] == "kustomize-build"]
    assert failure["source"] == str(tmp_path / "broken") and "missing.yaml" in failure["message"]
    assert report["summary"]["resources"] == 1  # the good overlay was still validated


def test_missing_store_exits_2_and_says_how_to_fill_it(cli_env, tmp_path):
    manifest = write(tmp_path, "cluster.yaml", VALID_RAYCLUSTER)
    env = cli_env | {"RAYGITOPS_CACHE_DIR": str(tmp_path / "empty-cache"), "RAYGITOPS_CRD_MIRROR": ""}  # nothing to rebuild from
    result = run(["validate", str(manifest)], env)
    assert result.returncode == 2
    assert "raygitops schemas fetch" in result.stderr and "Traceback" not in result.stderr


def test_no_renderer_exits_2_with_what_to_install(cli_env, tmp_path):
    write(tmp_path, "app/kustomization.yaml", "resources: []\n")
    nothing = tmp_path / "no-tools"
    nothing.mkdir()
    # Neither the pinned builds of `make tools` nor anything on PATH: no kubectl, no kustomize.
    env = cli_env | {"PATH": str(nothing), "RAYGITOPS_TOOLS_DIR": str(nothing)}
    result = run(["validate", str(tmp_path / "app")], env)
    assert result.returncode == 2
    assert "kubectl" in result.stderr and "kustomize" in result.stderr and "Traceback" not in result.stderr
    assert "make tools" in result.stderr


def test_missing_path_exits_2(cli_env, tmp_path):
    result = run(["validate", str(tmp_path / "nope.yaml")], cli_env)
    assert result.returncode == 2 and "no such file" in result.stderr


def test_rules_lists_core_checks_and_ray_rules_as_json(cli_env):
    result = run(["rules", "-o", "json"], cli_env)
    rules = json.loads(result.stdout)
    ids = {r["id"] for r in rules}
    assert result.returncode == 0
    assert {"yaml-duplicate-key", "kustomize-build"} <= ids
    assert all(r["doc"] and r["severity"] in ("error", "warning") for r in rules)
    assert len(ids) == len(rules), "rule ids must be unique"


@pytest.fixture
def cli_env(schema_cache_dir: Path) -> dict[str, str]:
    return os.environ | {"RAYGITOPS_CACHE_DIR": str(schema_cache_dir)}
