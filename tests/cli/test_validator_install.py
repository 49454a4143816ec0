"""The validator on its own: `pip install` without the jobs extra, on a Python other than the jobs' 3.11."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

OTHER_VERSIONS = ("3.13", "3.12")
# What only the jobs extra brings; the validator must not pull any of it in.
JOBS_ONLY = {"ray", "torch", "scikit-learn", "fastapi", "uvicorn"}


def _other_python() -> Path | None:
    """An interpreter of another minor version that runs: one pyenv installed, else one on PATH."""
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for version in OTHER_VERSIONS:
        if version == current:
            continue
        candidates = sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)
        if on_path := shutil.which(f"python{version}"):
            candidates.append(Path(on_path))  # may be a pyenv shim for a version not selected: try it last
        for candidate in candidates:
            if subprocess.run([str(candidate), "-c", "pass"], capture_output=True).returncode == 0:
                return candidate
    return None


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, timeout=900)


def test_validator_installs_and_runs_without_the_jobs_extra(repo_root: Path, tmp_path: Path, schema_cache_dir: Path) -> None:
    python = _other_python()
    if python is None:
        pytest.skip(f"no Python {', '.join(OTHER_VERSIONS)} on PATH or in pyenv; CI's validator job covers them")
    venv = tmp_path / "venv"
    created = _run(python, "-m", "venv", venv)
    assert created.returncode == 0, created.stderr
    installed = _run(venv / "bin/python", "-m", "pip", "install", "--quiet", "-c", repo_root / "requirements.lock", repo_root)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    packages = _run(venv / "bin/python", "-m", "pip", "list", "--format=freeze").stdout
    names = {line.split("==")[0].lower() for line in packages.splitlines()}
    assert "raygitops" in names
    assert not names & JOBS_ONLY, f"the validator pulled in {sorted(names & JOBS_ONLY)}"

    raygitops = venv / "bin/raygitops"
    version = _run(venv / "bin/python", "-c", "import sys; print(sys.version_info[:2])").stdout
    assert version.strip() != str(tuple(sys.version_info[:2]))
    overlays = _run(raygitops, "validate", "--cache-dir", schema_cache_dir, "overlays/gpu", "argocd", cwd=repo_root)
    assert overlays.returncode == 0, overlays.stdout + overlays.stderr

    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: c}\nspec:\n  headGroupSpec: 3\n")
    result = _run(raygitops, "validate", "--cache-dir", schema_cache_dir, broken)
    assert result.returncode == 1
    assert "headGroupSpec" in result.stdout
