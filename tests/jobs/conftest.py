"""Fixtures for the jobs tests: one real local Ray per session (CPU only), the job programs on the
path exactly as the cluster's PYTHONPATH has them, and a check that no Ray process outlives the session."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from jobs.demo import use_job_programs  # noqa: E402  (needs REPO_ROOT on the path)

use_job_programs()

# CI has two cores: the whole session shares one Ray of this size.
RAY_CPUS = 2


def processes_mentioning(text: str) -> list[str]:
    """`pid name` of every live process whose command line contains ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(f"{entry.name} {command[:120]}")
    return found


def processes_inheriting(variable: str, value: str) -> list[str]:
    """`pid name` of every live process whose environment has ``variable=value``: all that a program
    started with that environment spawned, however they renamed themselves (Ray workers become `ray::...`)."""
    wanted = f"{variable}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name} {command[:120]}")
        except OSError:
            continue
    return found


def leftover_ray_processes(ray_root: str, grace_s: float = 30.0, tmpdir_variable: str = "RAY_TMPDIR") -> list[str]:
    """Processes still running after shutdown that were started with ``tmpdir_variable=ray_root`` or
    name ``ray_root`` on their command line (raylet, gcs_server, workers).

    Shutdown signals them and returns; give them ``grace_s`` to exit before calling them leftovers."""
    deadline = time.monotonic() + grace_s
    while True:
        left = sorted(set(processes_mentioning(ray_root)) | set(processes_inheriting(tmpdir_variable, ray_root)))
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


@pytest.fixture(scope="session")
def ray_root() -> Iterator[str]:
    """A private Ray temp root (short: Unix socket paths are limited to 107 bytes), removed at the end."""
    root = tempfile.mkdtemp(prefix="rj")
    previous = os.environ.get("RAY_TMPDIR")
    os.environ["RAY_TMPDIR"] = root
    yield root
    if previous is None:
        os.environ.pop("RAY_TMPDIR", None)
    else:
        os.environ["RAY_TMPDIR"] = previous
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def serve_flags(ray_root: str) -> Iterator[dict[str, str]]:
    """serve_app's flags (HAProxy ingress) in the environment the session's Ray starts with, as the
    RayService sets them in its containers; the variables set, for the tests to look at."""
    import serve_app

    with serve_app.serve_flags() as flags:
        yield flags


@pytest.fixture(scope="session")
def local_ray(ray_root: str, serve_flags: dict[str, str]) -> Iterator[None]:
    import ray
    from ray import serve

    ray.init(num_cpus=RAY_CPUS, include_dashboard=False)
    assert processes_mentioning(ray_root), "Ray started but no process mentions its temp root"
    yield
    serve.shutdown()
    ray.shutdown()
    left = leftover_ray_processes(ray_root)
    haproxy_config = serve_flags.get("RAY_SERVE_HAPROXY_CONFIG_FILE_LOC")
    if haproxy_config:  # HAProxy runs outside Ray's temp root and names its own folder
        left += leftover_ray_processes(os.path.dirname(haproxy_config))
    assert not left, "Ray processes left behind after shutdown:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def storage() -> Iterator[Path]:
    """Where the session's train and tune runs write; removed at the end."""
    with tempfile.TemporaryDirectory(prefix="ray-results-") as directory:
        yield Path(directory)


@pytest.fixture(scope="session")
def trained(local_ray: None, storage: Path) -> tuple[int, dict | None]:
    """One real run of train.py's main, shared by the train and serve tests: (exit code, its JSON result)."""
    import train

    code, printed = run_main(train.main, [
        "--num-workers", "2", "--cpus-per-worker", "1", "--epochs", "8",
        "--storage-path", str(storage), "--name", "diabetes-train",
    ])
    return code, result_line(printed, "val_mse")


def run_main(main, argv: list[str]) -> tuple[int, str]:
    """Run a program's ``main(argv)`` here (same Ray), returning its exit code and what it printed."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    return code, buffer.getvalue()


def result_line(printed: str, key: str) -> dict | None:
    """The JSON object a program printed that has ``key`` (Ray may interleave its own log lines)."""
    import json

    for line in reversed(printed.splitlines()):
        if line.startswith("{") and f'"{key}"' in line:
            return json.loads(line)
    return None
