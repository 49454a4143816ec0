"""`make demo` (python -m jobs.demo) as a user runs it: a separate process with its own Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

from conftest import REPO_ROOT, leftover_ray_processes

pytestmark = pytest.mark.ray


def test_demo_trains_tunes_serves_ends_with_one_json_line_and_leaves_nothing_behind():
    # A fresh temp folder for the demo (TMPDIR; short, Ray's socket paths live under it): its listing before
    # and after is the demo's alone, and every process the demo started inherits TMPDIR=<it>.
    with tempfile.TemporaryDirectory(prefix="rd") as temp_root:
        env = {**os.environ, "TMPDIR": temp_root}
        env.pop("RAY_ADDRESS", None)
        env.pop("RAY_TMPDIR", None)  # as a user runs it: the demo decides where Ray's session files go
        before = sorted(os.listdir(temp_root))
        # Small arguments: the full-size story is what `make demo` runs; this checks the same path end to end.
        completed = subprocess.run(
            [sys.executable, "-m", "jobs.demo", "--num-workers", "1", "--epochs", "6",
             "--num-samples", "2", "--max-epochs", "2"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        summary = json.loads(completed.stdout.strip().splitlines()[-1])
        assert summary["train"]["val_mse"] < summary["train"]["baseline_mse"]
        assert set(summary["tune"]["best_config"]) == {"lr", "hidden_size", "batch_size"}
        assert summary["serve"]["status"] == 200 and isinstance(summary["serve"]["prediction"], float)
        assert summary["train"]["model_path"].startswith(os.path.join(temp_root, "raygitops-demo-"))

        left = leftover_ray_processes(temp_root, tmpdir_variable="TMPDIR")
        assert not left, "the demo left Ray processes behind:\n" + "\n".join(left)
        assert sorted(os.listdir(temp_root)) == before, "the demo left files in the temp folder"
