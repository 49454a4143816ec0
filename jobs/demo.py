"""The whole story on one machine: train, tune, serve, one real HTTP request, shutdown.

    python -m jobs.demo            (make demo)

Progress goes to stderr and Ray's own log lines; the last line on stdout is one JSON object:
{"train": {"val_mse": ..., "baseline_mse": ...}, "tune": {"best_config": {...}, ...},
 "serve": {"status": 200, "prediction": ...}}. Exit status 0 only if every step worked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

JOBS_DIR = Path(__file__).resolve().parent
# The same directories the cluster gets flat in one ConfigMap (train.py, tune.py, serve_app.py).
PROGRAM_DIRS = [JOBS_DIR / "train", JOBS_DIR / "tune", JOBS_DIR / "serve"]


def use_job_programs() -> None:
    """Make train, tune and serve_app importable here and in the Ray workers started afterwards."""
    for directory in reversed(PROGRAM_DIRS):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    existing = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    wanted = [str(d) for d in PROGRAM_DIRS if str(d) not in existing]
    os.environ["PYTHONPATH"] = os.pathsep.join(wanted + existing)


def log(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr, flush=True)


def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    """Train, tune, serve in one scratch folder that is removed at the end (with Ray's session files,
    unless RAY_TMPDIR says where those go); ``--storage-path`` keeps the results somewhere else."""
    with tempfile.TemporaryDirectory(prefix="raygitops-demo-") as scratch:
        # Set before Ray starts, so that its processes inherit them; what the user set stays.
        scratch_env = {"RAY_TMPDIR": scratch,  # Ray's session files: sockets, logs
                       "TORCHINDUCTOR_CACHE_DIR": os.path.join(scratch, "torchinductor")}  # else <temp>/torchinductor_<user>
        scratch_env = {name: value for name, value in scratch_env.items() if name not in os.environ}
        # Always: Ray stops its workers with a signal, so what they made in the temp folder (multiprocessing's
        # pymp-*, for one) is never cleaned up by them. This process has already read the previous TMPDIR.
        tempfile.gettempdir()
        previous_tmpdir = os.environ.get("TMPDIR")
        os.environ.update({**scratch_env, "TMPDIR": scratch})
        try:
            return _run_steps(args, args.storage_path or os.path.join(scratch, "results"))
        finally:
            for name in scratch_env:
                del os.environ[name]
            if previous_tmpdir is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = previous_tmpdir


def _run_steps(args: argparse.Namespace, storage: str) -> dict[str, Any]:
    import serve_app

    with serve_app.serve_flags():  # Serve as the RayService runs it (HAProxy ingress)
        return _on_local_ray(args, storage)


def _on_local_ray(args: argparse.Namespace, storage: str) -> dict[str, Any]:
    import ray
    import serve_app
    import train
    import tune
    from ray import serve

    ray.init(num_cpus=args.num_cpus)
    try:
        log(f"1/3 training ({args.epochs} epochs, {args.num_workers} workers) -> {storage}")
        trained = train.run_training(train.parse_args([
            "--num-workers", str(args.num_workers), "--cpus-per-worker", "1", "--epochs", str(args.epochs),
            "--storage-path", storage, "--name", "diabetes-train",
        ]))
        log(f"   val_mse={trained.val_mse:.1f} baseline_mse={trained.baseline_mse:.1f} model={trained.model_path}")

        log(f"2/3 tuning ({args.num_samples} trials, ASHA, up to {args.max_epochs} epochs each)")
        tuned = tune.run_tuning(tune.parse_args([
            "--num-samples", str(args.num_samples), "--max-epochs", str(args.max_epochs), "--grace-period", "1",
            "--storage-path", storage, "--name", "diabetes-tune",
        ]))
        log(f"   best_config={json.dumps(tuned.best_config)} stopped_early={tuned.stopped_early}/{tuned.trials}")

        port = args.port or serve_app.free_ports(1)[0]
        log(f"3/3 serving the trained model on http://127.0.0.1:{port}")
        url = serve_app.start(trained.model_path, port=port, max_replicas=1)
        status, body = serve_app.post_sample(url)
        log(f"   POST /predict -> {status} {json.dumps(body)}")
    finally:
        serve.shutdown()
        ray.shutdown()
    if not args.storage_path:
        log("results were in a temporary folder, now removed; pass --storage-path to keep them")
    return {
        "train": {"val_mse": trained.val_mse, "baseline_mse": trained.baseline_mse, "model_path": trained.model_path},
        "tune": {"best_config": tuned.best_config, "best_val_mse": tuned.best_val_mse, "trials": tuned.trials,
                 "stopped_early": tuned.stopped_early, "best_config_path": tuned.best_config_path},
        "serve": {"status": status, "prediction": body.get("prediction") if isinstance(body, dict) else None},
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--num-samples", type=int, default=6)
    parser.add_argument("--max-epochs", type=int, default=8)
    parser.add_argument("--port", type=int, default=0, help="Serve HTTP port (0: any free port)")
    parser.add_argument("--storage-path", default=None,
                        help="where results are kept (default: a temporary folder removed at the end)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    use_job_programs()
    try:
        summary = run_demo(args)
    except Exception as error:
        log(f"failed: {type(error).__name__}: {error}")
        return 1
    print(json.dumps(summary), flush=True)
    return 0 if summary["serve"]["status"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
