"""Paths, output, empty input and remote resources, as a user runs `raygitops validate`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest


from raygitops.engine import Report
from raygitops.findings import Finding, Severity
from raygitops.report.output import format_report

from .helpers import BAD_SERVICE, configmap

HOSTILE_NAME = "evil\x1b[2J\rname\x00\x07"


def validate(args: list[str], env: dict[str, str], stdin: str | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "raygitops", "validate", *args], env=env, input=stdin,
        capture_output=True, text=True, timeout=300, check=False, cwd=cwd,
    )


@pytest.fixture
def env(schema_cache_dir: Path) -> dict[str, str]:
    return os.environ | {"RAYGITOPS_CACHE_DIR": str(schema_cache_dir)}


# ---------------------------------------------------------------- paths


def test_symlink_loops_links_out_of_the_tree_fifos_and_dangling_links_are_skipped_and_reported(env, tmp_path):
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "svc.yaml").write_text(BAD_SERVICE)
    for name in ("up1", "up2"):  # two links back up: an exponential walk if followed
        (tree / "a" / "b" / name).symlink_to("../..")
    (tree / "zero.yaml").symlink_to("/dev/zero")
    (tree / "outside.yaml").symlink_to(tmp_path / "outside.yaml")
    (tmp_path / "outside.yaml").write_text(configmap("outside"))
    (tree / "dangling.yaml").symlink_to(tree / "nowhere.yaml")
    os.mkfifo(tree / "pipe.yaml")

    result = validate(["-o", "json", str(tree)], env)

    report = json.loads(result.stdout)
    assert result.returncode == 1, result.stderr
    skipped = {Path(f["source"]).name: f["message"] for f in report["findings"] if f["rule"] == "path-skipped"}
    assert set(skipped) == {"zero.yaml", "outside.yaml", "dangling.yaml", "pipe.yaml"}
    assert "FIFO" in skipped["pipe.yaml"] and "dangling" in skipped["dangling.yaml"]
    services = [f for f in report["findings"] if f["rule"] == "service-port"]
    assert len(services) == 1  # svc.yaml read once, not once per path through the links
    assert report["summary"]["resources"] == 1


def test_a_fifo_given_as_a_path_is_reported_and_the_other_paths_checked(env, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "svc.yaml").write_text(BAD_SERVICE)
    result = validate(["-o", "json", str(tmp_path / "pipe"), str(tmp_path / "svc.yaml")], env)
    rules = [f["rule"] for f in json.loads(result.stdout)["findings"]]
    assert result.returncode == 1 and "path-skipped" in rules and "service-port" in rules


# ---------------------------------------------------------------- nothing to check


@pytest.mark.parametrize("layout", ["empty-folder", "folder-without-yaml", "empty-file", "stdin"])
def test_nothing_to_check_exits_2_unless_allow_empty(env, tmp_path, layout):
    target = tmp_path / "target"
    stdin = None
    if layout == "empty-folder":
        target.mkdir()
    elif layout == "folder-without-yaml":
        target.mkdir()
        (target / "README.md").write_text("no manifests here\n")
    elif layout == "empty-file":
        target = tmp_path / "empty.yaml"
        target.write_text("---\n")
    args = ["-"] if layout == "stdin" else [str(target)]
    stdin = "" if layout == "stdin" else None

    refused = validate(args, env, stdin=stdin)
    allowed = validate(["--allow-empty", *args], env, stdin=stdin)

    assert refused.returncode == 2 and "no resource found" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr


# ---------------------------------------------------------------- output


@pytest.mark.parametrize("output", ["text", "json", "junit", "sarif"])
def test_every_format_is_well_formed_for_control_characters(env, output):
    name = json.dumps(HOSTILE_NAME)
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  labels: {{{name}: {name}}}\n"
    result = validate(["-o", output, "-"], env, stdin=text)
    assert result.returncode == 1, result.stderr
    if output == "text":
        assert not any(c in result.stdout for c in "\x1b\r\x00\x07")
        assert "\\x1b" in result.stdout
    elif output == "junit":
        root = ET.fromstring(result.stdout.split("?>", 1)[1])
        assert root.findall(".//failure")
    else:
        assert json.loads(result.stdout)


def test_a_multi_line_tool_error_is_one_line_with_the_detail_under_it():
    message = "overlays/x: kustomize build failed: accumulating resources\nfirst detail\n\x1b[31msecond detail\n"
    report = Report(findings=[Finding(Severity.ERROR, "kustomize-build", message, source="overlays/x")])
    lines = format_report(report, "text").splitlines()
    assert lines[0].endswith("accumulating resources [kustomize-build]")
    assert lines[1:3] == ["    first detail", "    \\x1b[31msecond detail"]
    assert lines[3].startswith("0 resources")


# ---------------------------------------------------------------- remote resources


@pytest.mark.parametrize("entry", [
    "https://raw.githubusercontent.com/ray-project/kuberay/v1.7.0/ray-operator/config/samples/ray-cluster.sample.yaml",
    "github.com/ray-project/kuberay//ray-operator/config/default?ref=v1.7.0",
    "git::https://example.com/repo.git//base",
    "file:///etc",
])
def test_remote_resources_are_refused_without_allow_remote_also_in_nested_kustomizations(env, tmp_path, entry):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "kustomization.yaml").write_text(f"resources:\n- {entry}\n")
    (tmp_path / "overlay").mkdir()
    (tmp_path / "overlay" / "kustomization.yaml").write_text("resources:\n- ../base\n")

    result = validate(["-o", "json", str(tmp_path / "overlay")], env)

    [finding] = json.loads(result.stdout)["findings"]
    assert result.returncode == 1 and finding["rule"] == "kustomize-remote-resource"
    assert entry[:40] in finding["message"] and "base/kustomization.yaml" in finding["message"]


def test_the_load_restrictor_stays_on_a_file_outside_the_kustomization_is_not_read(env, tmp_path):
    (tmp_path / "secret.yaml").write_text(configmap("outside"))
    (tmp_path / "overlay").mkdir()
    (tmp_path / "overlay" / "kustomization.yaml").write_text("resources:\n- ../secret.yaml\n")
    result = validate(["-o", "json", str(tmp_path / "overlay")], env)
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "kustomize-build" and "is not in or below" in finding["message"]


def test_a_kind_that_is_not_a_string_does_not_crash_the_template_pass():
    # Found by the fuzzer: a mutant whose `kind` became a list crashed the engine's unrendered-template pass.
    from raygitops.checks.native.templates import placeholders

    assert placeholders({"apiVersion": "v1", "kind": [["x"], ["y"]], "spec": {"a": "${VALUE}"}}) == [
        (("spec", "a"), "${VALUE}")
    ]
