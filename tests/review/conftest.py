"""A real git repository made from this project's manifests, to commit changes in and diff."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from raygitops.cli import main

# What `raygitops diff` renders: every kustomization and the files they read.
MANIFEST_FOLDERS = ("base", "components", "overlays", "jobs", "cluster-setup", "argocd")


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=raygitops tests", "-c", "user.email=tests@raygitops.invalid", *args],
        capture_output=True, text=True, check=True,
    )
    return result.stdout.strip()


@dataclass
class Repo:
    root: Path

    def edit(self, relative: str, old: str, new: str, count: int = 1) -> None:
        """Replace text in a file; the test fails loudly if the manifest no longer has it."""
        path = self.root / relative
        text = path.read_text()
        assert text.count(old) >= count, f"{relative} no longer contains {old!r}"
        path.write_text(text.replace(old, new, count))

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def commit(self, message: str) -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "--quiet", "-m", message)

    def diff(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        monkeypatch.chdir(self.root)
        code = main(["diff", *args])
        out, err = capsys.readouterr()
        return code, out, err

    def diff_json(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
        code, out, err = self.diff(monkeypatch, capsys, "--base", "HEAD~1", "--head", "HEAD", "-o", "json", *args)
        assert code == 0, err
        return json.loads(out)


@pytest.fixture(scope="session")
def pristine_repo(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    root = tmp_path_factory.mktemp("pristine") / "repo"
    root.mkdir()
    for folder in MANIFEST_FOLDERS:
        shutil.copytree(repo_root / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "the project's manifests")
    return root


@pytest.fixture
def repo(pristine_repo: Path, tmp_path: Path) -> Repo:
    """A fresh copy of the pristine repository (its .git too) for one test to change."""
    root = tmp_path / "repo"
    shutil.copytree(pristine_repo, root, symlinks=True)
    return Repo(root)


def effects_of(report: dict[str, Any], target: str, kind: str, name: str) -> dict[str, dict[str, Any]]:
    """{effect id: effect} for one resource of one target."""
    (entry,) = [t for t in report["targets"] if t["path"] == target]
    matches = [c for c in entry["changes"] if c["kind"] == kind and c["name"] == name]
    assert len(matches) == 1, f"{kind}/{name} not changed in {target}: {[c['kind'] + '/' + c['name'] for c in entry['changes']]}"
    return {e["id"]: e for e in matches[0]["effects"]}


def target(report: dict[str, Any], path: str) -> dict[str, Any]:
    (entry,) = [t for t in report["targets"] if t["path"] == path]
    return entry
