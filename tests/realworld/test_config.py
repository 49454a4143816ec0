"""The repository config (.raygitops.yaml or [tool.raygitops]) and the output of suppressed findings."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from raygitops.cli import main

# A Deployment whose only findings are safety warnings (no limits, may escalate), and a Secret reference.
APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
      - name: web
        image: nginx:1.27
        env: [{name: TOKEN, valueFrom: {secretKeyRef: {name: api-token, key: token}}}]
"""


def run(args: list[str], cache: Path, capsys) -> tuple[int, str]:
    code = main(["validate", "--cache-dir", str(cache), *args])
    return code, capsys.readouterr().out


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "apps" / "prod").mkdir(parents=True)
    (tmp_path / "apps" / "dev").mkdir(parents=True)
    (tmp_path / "apps" / "prod" / "web.yaml").write_text(APP)
    (tmp_path / "apps" / "dev" / "web.yaml").write_text(APP)
    return tmp_path


def test_profiles_per_path_and_external_objects_from_the_config(repo, schema_cache_dir, capsys) -> None:
    (repo / ".raygitops.yaml").write_text(
        'profiles: {"apps/prod/**": prod}\nexternal: [Secret/api-token]\ncomplete: true\n')
    code, out = run(["-o", "json", str(repo / "apps")], schema_cache_dir, capsys)
    findings = json.loads(out)["findings"]
    by_file = {(Path(f["source"]).parent.name, f["rule"]): f["severity"] for f in findings}
    assert by_file[("prod", "missing-limits")] == "error" and by_file[("dev", "missing-limits")] == "warning"
    assert not any(f["rule"] == "secret-reference" for f in findings), "declared external in the config"
    assert code == 1


def test_flags_override_the_config(repo, schema_cache_dir, capsys) -> None:
    (repo / ".raygitops.yaml").write_text('profiles: {"apps/prod/**": prod}\n')
    code, _ = run(["--profile", "default", str(repo / "apps")], schema_cache_dir, capsys)
    assert code == 0


def test_config_in_pyproject_found_by_walking_up(repo, schema_cache_dir, capsys) -> None:
    (repo / "pyproject.toml").write_text('[tool.raygitops]\ncomplete = true\n')
    code, out = run([str(repo / "apps" / "dev" / "web.yaml")], schema_cache_dir, capsys)
    assert code == 1 and "[secret-reference]" in out


def test_rules_turned_off_with_a_reason_stay_in_json_and_sarif_marked_suppressed(repo, schema_cache_dir, capsys) -> None:
    (repo / ".raygitops.yaml").write_text("ignore: {missing-limits: sized by the namespace LimitRange}\n")
    target = str(repo / "apps" / "dev")
    _, text = run([target], schema_cache_dir, capsys)
    assert "missing-limits" not in text and "1 suppressed" in text
    _, out = run(["-o", "json", target], schema_cache_dir, capsys)
    [suppressed] = [f for f in json.loads(out)["findings"] if f["rule"] == "missing-limits"]
    assert "sized by the namespace LimitRange" in suppressed["suppressed"]["reason"]
    _, out = run(["-o", "sarif", target], schema_cache_dir, capsys)
    [result] = [r for r in json.loads(out)["runs"][0]["results"] if r["ruleId"] == "missing-limits"]
    assert result["suppressions"][0]["kind"] == "external"


def test_an_ignore_without_a_reason_is_a_usage_error(repo, schema_cache_dir, capsys) -> None:
    (repo / ".raygitops.yaml").write_text("ignore: {missing-limits: ''}\n")
    assert main(["validate", "--cache-dir", str(schema_cache_dir), str(repo / "apps")]) == 2
    assert "ignore.missing-limits needs a reason" in capsys.readouterr().err


def test_quiet_prints_errors_only(repo, schema_cache_dir, capsys) -> None:
    _, out = run(["--quiet", str(repo / "apps" / "dev")], schema_cache_dir, capsys)
    assert ": warning:" not in out and out.strip().endswith("warnings")


def test_a_folder_walk_leaves_out_venv_and_what_git_ignores(repo, schema_cache_dir, capsys) -> None:
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("build/\n")
    for ignored in (".venv/lib/site-packages/pkg/bad.yaml", "build/bad.yaml"):
        (repo / ignored).parent.mkdir(parents=True)
        (repo / ignored).write_text("apiVersion: v1\nkind: Service\nmetadata: {name: Bad_Name}\n")
    _, out = run([str(repo)], schema_cache_dir, capsys)
    assert "Bad_Name" not in out and "bundle " in out


def test_an_ignore_of_a_rule_that_does_not_exist_is_a_usage_error(repo, schema_cache_dir, capsys) -> None:
    (repo / ".raygitops.yaml").write_text("ignore: {missing-limit: typo}\n")
    assert main(["validate", "--cache-dir", str(schema_cache_dir), str(repo / "apps")]) == 2
    assert "'missing-limit', which does not exist" in capsys.readouterr().err
