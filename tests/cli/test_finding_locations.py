"""Findings point at the line a person edits: the field's own line, in the file under base/, components/ or the overlay."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from raygitops.inputs.documents import load_stream
from raygitops.inputs.origins import ORIGIN_ANNOTATION
from raygitops.inputs.render import render
from raygitops.inputs.sources import load_paths

MANIFEST_FOLDERS = ("base", "components", "overlays", "jobs", "cluster-setup")


@pytest.fixture
def project(repo_root: Path, tmp_path: Path) -> Path:
    """A copy of the project's manifests to break."""
    root = tmp_path / "project"
    for folder in MANIFEST_FOLDERS:
        shutil.copytree(repo_root / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture
def env(schema_cache_dir: Path) -> dict[str, str]:
    return os.environ | {"RAYGITOPS_CACHE_DIR": str(schema_cache_dir)}


def validate(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "raygitops", "validate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def replace_line(path: Path, old: str, new: str) -> int:
    """Replace the first line containing `old`; return its 1-based number."""
    lines = path.read_text().splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if old in line)
    lines[number] = lines[number].replace(old, new)
    path.write_text("".join(lines))
    return number + 1


def test_overlay_finding_names_the_base_file_and_the_fields_line(project: Path, env: dict[str, str]) -> None:
    line = replace_line(project / "base/raycluster.yaml", "maxReplicas: 4", "maxReplicas: four")
    result = validate(project, env, "-o", "json", "overlays/gpu")
    assert result.returncode == 1
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"]
    assert (finding["source"], finding["line"], finding["target"]) == ("base/raycluster.yaml", line, "overlays/gpu")
    assert finding["path"] == "/spec/workerGroupSpecs/0/maxReplicas"
    text = validate(project, env, "overlays/gpu").stdout
    assert f"base/raycluster.yaml:{line}#0: error: " in text and "(rendered in overlays/gpu)" in text


def test_finding_on_a_component_resource_names_the_component_file(project: Path, env: dict[str, str]) -> None:
    path = project / "components/dashboard-ingress/ingress.yaml"
    line = replace_line(path, "pathType: Prefix", "pathType: Sometimes")
    sarif = json.loads(validate(project, env, "-o", "sarif", "overlays/gpu").stdout)
    [result] = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "components/dashboard-ingress/ingress.yaml"
    assert physical["region"]["startLine"] == line
    assert "rendered in overlays/gpu" in result["message"]["text"]


def test_field_a_patch_added_points_at_the_nearest_field_in_the_origin(project: Path, env: dict[str, str]) -> None:
    # The gpu worker group comes from a component's JSON patch; the RayCluster itself from base/. The
    # finding names the base file, at the line of the deepest field that file has (workerGroupSpecs).
    patch = project / "components/gpu-workers/add-gpu-group.yaml"
    patch.write_text(patch.read_text().replace("maxReplicas: 2", "maxReplicas: two"))
    result = validate(project, env, "-o", "json", "overlays/gpu")
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "schema-type"]
    base = (project / "base/raycluster.yaml").read_text().splitlines()
    assert finding["source"] == "base/raycluster.yaml"
    assert base[finding["line"] - 1].strip() == "workerGroupSpecs:"


@pytest.mark.parametrize("byte_order_mark", ["", "\ufeff"])
def test_plain_file_finding_is_on_the_fields_line_not_the_documents(
    tmp_path: Path, env: dict[str, str], byte_order_mark: str
) -> None:
    manifest = tmp_path / "services.yaml"
    manifest.write_text(
        byte_order_mark + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n"
        "    - name: http\n      port: 80\n    - name: admin\n      port: 70000\n"
    )
    result = validate(tmp_path, env, "-o", "json", "services.yaml")
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"]
    assert (finding["index"], finding["line"]) == (1, 14)  # `port: 70000`, not the document's line 5


def test_origin_annotations_never_reach_the_checks(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo_root)
    [source] = load_paths(["overlays/prod"])
    plain, _ = load_stream(render(Path("overlays/prod")), "overlays/prod")
    assert [d.body for d in source.documents] == [d.body for d in plain]
    assert not any(ORIGIN_ANNOTATION in d.annotations for d in source.documents)
    assert {o.path for o in source.origins.values()} >= {"base/raycluster.yaml", "components/disruption-budgets/pdb.yaml"}
