"""The GitHub workflows and the pre-commit hooks: valid for their tools, and running what reviewers rely on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pre_commit.clientlib import load_config, load_manifest

from .conftest import Repo, git

BIN = Path(sys.executable).parent


def _workflow(repo_root: Path, name: str) -> dict[Any, Any]:
    return yaml.safe_load((repo_root / ".github/workflows" / name).read_text())


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_workflows_match_the_github_workflow_schema(repo_root: Path) -> None:
    files = sorted(str(p) for p in (repo_root / ".github/workflows").glob("*.yml"))
    assert files
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    # The check above can fail: a job without runs-on is not a workflow GitHub accepts.
    broken = tmp_path / "broken.yml"
    broken.write_text("on: pull_request\njobs:\n  test:\n    steps:\n      - run: make test\n")
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True, text=True,
    )
    assert result.returncode == 1


def test_ci_gates_pull_requests_and_uploads_sarif(repo_root: Path) -> None:
    workflow = _workflow(repo_root, "ci.yml")
    assert "pull_request" in workflow[True]  # PyYAML reads the key `on` as a boolean
    job = workflow["jobs"]["test"]
    runs = _runs(job)
    for command in ("make setup", "make lint", "make test", "make validate", "--output sarif"):
        assert command in runs
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif")]
    assert {s["with"]["sarif_file"] for s in uploads} == {"sarif/default.sarif", "sarif/prod.sarif"}
    assert job["permissions"]["security-events"] == "write"


def test_review_posts_the_markdown_diff(repo_root: Path) -> None:
    job = _workflow(repo_root, "review.yml")["jobs"]["diff"]
    runs = _runs(job)
    assert 'raygitops diff --base "origin/$BASE_REF" --output markdown > diff.md' in runs
    assert '>> "$GITHUB_STEP_SUMMARY"' in runs
    assert "gh pr comment" in runs and job["permissions"]["pull-requests"] == "write"
    checkout = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base branch must be there to render it


def test_published_hooks_load_and_this_repository_uses_the_same_ones(repo_root: Path) -> None:
    published = {hook["id"]: hook for hook in load_manifest(str(repo_root / ".pre-commit-hooks.yaml"))}
    (local,) = load_config(str(repo_root / ".pre-commit-config.yaml"))["repos"]
    assert local["repo"] == "local"
    assert {hook["id"] for hook in local["hooks"]} == set(published)
    for hook in local["hooks"]:
        twin = published[hook["id"]]
        assert hook["entry"] == ".venv/bin/" + twin["entry"]
        for key in ("files", "pass_filenames", "verbose"):
            assert hook[key] == twin[key], f"{hook['id']}: {key} differs from .pre-commit-hooks.yaml"


@pytest.fixture
def hooked_repo(repo: Repo, repo_root: Path, schema_cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    shutil.copy(repo_root / ".pre-commit-config.yaml", repo.root / ".pre-commit-config.yaml")
    (repo.root / ".venv").symlink_to(BIN.parent)
    repo.write(".gitignore", ".venv\n")
    repo.commit("pre-commit")
    monkeypatch.setenv("RAYGITOPS_CACHE_DIR", str(schema_cache_dir))
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    return repo


def _pre_commit(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pre-commit"), "run", *args], cwd=repo.root, capture_output=True, text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_validate_hook_blocks_a_broken_commit(hooked_repo: Repo) -> None:
    clean = _pre_commit(hooked_repo, "raygitops-validate", "--all-files")
    assert clean.returncode == 0, clean.stdout
    hooked_repo.edit("base/raycluster.yaml", "maxReplicas: 4", "maxReplicas: four")
    git(hooked_repo.root, "add", "-A")
    broken = _pre_commit(hooked_repo, "raygitops-validate")
    assert broken.returncode == 1
    assert "base/raycluster.yaml" in broken.stdout and "/spec/workerGroupSpecs/0/maxReplicas" in broken.stdout, broken.stdout


def test_diff_hook_shows_what_the_staged_change_does(hooked_repo: Repo) -> None:
    hooked_repo.edit("base/raycluster.yaml", "maxReplicas: 4", "maxReplicas: 6")
    git(hooked_repo.root, "add", "-A")
    result = _pre_commit(hooked_repo, "raygitops-diff")
    assert result.returncode == 0, result.stdout
    assert "raycluster-scaled: cpu-group maxReplicas 4 -> 6" in result.stdout
