"""Benchmark the jobs on this machine: Ray Serve against a plain FastAPI app, Ray Train against plain PyTorch.

    make bench-jobs          (PYTHONPATH=jobs/train:jobs/tune:jobs/serve python benchmarks/bench_jobs.py)

Serve: requests/s and p50/p99 latency at concurrency 1, 16 and 64 for
  - plain:        the same Predictor and request parsing in one uvicorn process (no Ray),
  - serve+batch:  serve_app with @serve.batch (one replica),
  - serve:        serve_app without batching (one replica),
with the ratio to plain. Loopback only; bounded request counts; the load generator shares the cores.

Train: steady-state samples/s of Ray Train (TorchTrainer, N workers x 1 CPU, DDP) against a plain PyTorch
loop with N threads on the same cores, on the diabetes rows tiled to a larger set; startup (cluster and
worker group) shown apart. "compute" counts time inside the epochs only; "wall" also counts the
per-epoch ray.train.report round trip.

Goals (issue 4): Serve >= 0.5x plain requests/s at concurrency 16 with p99 <= 3x; Train >= 0.67x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

JOBS = Path(__file__).resolve().parents[1] / "jobs"
for _directory in (JOBS / "train", JOBS / "serve"):
    if str(_directory) not in sys.path:
        sys.path.insert(0, str(_directory))
os.environ["PYTHONPATH"] = os.pathsep.join([str(JOBS / "train"), str(JOBS / "serve"), os.environ.get("PYTHONPATH", "")])

import numpy as np  # noqa: E402
import torch  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402  (module level: FastAPI resolves the annotations here)
from fastapi.responses import JSONResponse  # noqa: E402

import train  # noqa: E402

CONCURRENCY = (1, 16, 64)
REQUESTS = {1: 300, 16: 1200, 64: 2000}  # per level, after a warm-up
LEVELS = list(CONCURRENCY)  # --levels narrows it for a quick look


# --- serve -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _load(url: str, concurrency: int, total: int) -> LoadResult:
    import httpx

    rows = train.load_splits().x_val.astype(float).tolist()
    latencies: list[float] = []
    errors = 0
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def user() -> None:
            nonlocal next_index, errors
            while next_index < total:
                row = rows[next_index % len(rows)]
                next_index += 1
                started = time.perf_counter()
                response = await client.post(url, json={"features": row})
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200

        # warm-up: connections, replica, batch handler
        for _ in range(20):
            await client.post(url, json={"features": rows[0]})
        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return LoadResult(
        concurrency, len(latencies), len(latencies) / elapsed,
        1000 * statistics.median(latencies), 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        errors,
    )


def measure(url: str) -> list[LoadResult]:
    return [asyncio.run(_load(url, c, REQUESTS[c])) for c in LEVELS]


def plain_app(model_dir: str):
    """The same model and parsing as serve_app, as an ordinary FastAPI app (no Ray)."""
    import serve_app

    predictor = serve_app.Predictor(*train.load_model(model_dir))
    app = FastAPI()

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        try:
            rows, single = serve_app.parse_request(await request.body())
        except serve_app.InputError as error:
            return serve_app.error_response(error)
        return JSONResponse(serve_app.response_body(predictor.predict(rows), single))

    return app


def wait_for_port(port: int, process: subprocess.Popen, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the plain FastAPI server exited early")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {limit_s}s")


def bench_serve(model_dir: str, num_cpus: int) -> dict[str, list[LoadResult]]:
    import ray
    from ray import serve

    import serve_app

    results: dict[str, list[LoadResult]] = {}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--plain-server", "--port", str(port), "--model-dir", model_dir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server)
        print("serve: plain FastAPI/uvicorn ...", file=sys.stderr, flush=True)
        results["plain"] = measure(f"http://127.0.0.1:{port}/predict")
    finally:
        server.terminate()
        server.wait(timeout=30)

    # Like the plain app (uvicorn at log level warning): no per-request access log shipped to this driver.
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        url = serve_app.start(model_dir, port=free_port(), access_log=False, max_replicas=1, num_cpus=1)
        print("serve: Ray Serve with @serve.batch ...", file=sys.stderr, flush=True)
        results["serve+batch"] = measure(f"{url}/predict")
        serve.run(serve_app.app_builder({"model_uri": model_dir, "use_batching": False, "max_replicas": 1}),
                  name="diabetes", route_prefix="/", logging_config={"enable_access_log": False})
        print("serve: Ray Serve without batching ...", file=sys.stderr, flush=True)
        results["serve"] = measure(f"{url}/predict")
    finally:
        serve.shutdown()
        ray.shutdown()
    return results


# --- train -------------------------------------------------------------------------------------------------


def big_dataset(copies: int) -> torch.utils.data.TensorDataset:
    splits = train.load_splits()
    x = np.tile(splits.x_train, (copies, 1))
    y = np.tile(splits.y_train, copies)
    return train.tensor_dataset(x, y, splits.scaling)


def bench_plain_torch(copies: int, epochs: int, threads: int, batch_size: int, hidden: int) -> dict[str, float]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    data = big_dataset(copies)
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True)
    model = train.build_model(hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(epochs):
        started = time.perf_counter()
        train.train_epoch(model, loader, optimizer)
        times.append(time.perf_counter() - started)
    steady = times[1:]  # the first epoch warms allocator and threads
    return {"samples_per_s": len(data) * len(steady) / sum(steady), "startup_s": 0.0}


def ray_train_loop(config: dict) -> list[dict]:
    """Per worker: the same epochs as the plain loop, DDP, one ray.train.report per epoch; rank 0 returns timings."""
    import ray.train
    import ray.train.torch

    torch.manual_seed(0)
    data = big_dataset(config["copies"])
    loader = ray.train.torch.prepare_data_loader(
        torch.utils.data.DataLoader(data, batch_size=config["batch_size"], shuffle=True)
    )
    model = ray.train.torch.prepare_model(train.build_model(config["hidden"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for epoch in range(config["epochs"]):
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        started = time.time()
        train.train_epoch(model, loader, optimizer)
        ended = time.time()
        ray.train.report({"epoch": epoch, "epoch_seconds": ended - started})
        history.append({"started": started, "ended": ended, "reported": time.time(), "samples": len(data)})
    return history


def bench_ray_train(copies: int, epochs: int, workers: int, batch_size: int, hidden: int) -> dict[str, float]:
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    started = time.time()
    ray.init(num_cpus=workers, include_dashboard=False)
    try:
        trainer = TorchTrainer(
            ray_train_loop,
            train_loop_config={"copies": copies, "epochs": epochs, "batch_size": batch_size, "hidden": hidden},
            scaling_config=ScalingConfig(num_workers=workers, resources_per_worker={"CPU": 1}),
            run_config=RunConfig(storage_path=tempfile.mkdtemp(prefix="bench-train-"), name="bench"),
        )
        result = trainer.fit()
    finally:
        ray.shutdown()
    history = result.return_value
    if result.error is not None or not history or len(history) < 2:
        raise RuntimeError(f"Ray Train run unusable for timing: {result.error}")
    samples = history[0]["samples"]  # the whole data set per epoch, across the DDP shards
    steady = history[1:]
    compute = samples * len(steady) / sum(h["ended"] - h["started"] for h in steady)
    wall = samples * len(steady) / (history[-1]["reported"] - history[0]["reported"])
    return {"samples_per_s": compute, "wall_samples_per_s": wall, "startup_s": history[0]["started"] - started}


# --- report ------------------------------------------------------------------------------------------------


def print_serve_table(results: dict[str, list[LoadResult]]) -> None:
    plain = {r.concurrency: r for r in results["plain"]}
    print(f"{'serve':<12} {'conc':>4} {'req':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x plain rps':>11} "
          f"{'x plain p99':>11} {'errors':>6}")
    for name, rows in results.items():
        for r in rows:
            base = plain[r.concurrency]
            print(f"{name:<12} {r.concurrency:>4} {r.requests:>5} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
                  f"{r.rps / base.rps:>11.2f} {r.p99_ms / base.p99_ms:>11.2f} {r.errors:>6}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cpus", type=int, default=2, help="cores for Ray and for the plain loops")
    parser.add_argument("--copies", type=int, default=300, help="diabetes training rows tiled this many times")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--levels", default=",".join(map(str, CONCURRENCY)), help="concurrency levels, e.g. 16")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args(argv)

    if args.plain_server:
        import uvicorn

        uvicorn.run(plain_app(args.model_dir), host="127.0.0.1", port=args.port, log_level="warning")
        return 0

    LEVELS[:] = [int(level) for level in args.levels.split(",")]
    for level in LEVELS:
        REQUESTS.setdefault(level, 1200)
    summary: dict[str, object] = {}
    if not args.skip_serve:
        model_dir = tempfile.mkdtemp(prefix="bench-model-")
        splits = train.load_splits()
        train.save_model(model_dir, train.build_model(8), 8, splits.scaling)
        serve_results = bench_serve(model_dir, args.cpus)
        print_serve_table(serve_results)
        summary["serve"] = {k: [r.__dict__ for r in v] for k, v in serve_results.items()}
        failed = sum(r.errors for rows in serve_results.values() for r in rows)
        if failed:
            print(f"bench-jobs: {failed} requests did not get a 200; the figures above are not valid", file=sys.stderr)
            return 1
    if not args.skip_train:
        shape = {"copies": args.copies, "epochs": args.epochs, "batch_size": 256, "hidden": 64}
        print("train: plain PyTorch ...", file=sys.stderr, flush=True)
        plain = bench_plain_torch(threads=args.cpus, **shape)
        print("train: Ray Train ...", file=sys.stderr, flush=True)
        ray_train = bench_ray_train(workers=args.cpus, **shape)
        print(f"{'train':<24} {'samples/s':>10} {'x plain':>8} {'startup s':>10}")
        print(f"{'plain torch, ' + str(args.cpus) + ' threads':<24} {plain['samples_per_s']:>10.0f} {1:>8.2f} {0:>10.1f}")
        print(f"{'ray train, compute':<24} {ray_train['samples_per_s']:>10.0f} "
              f"{ray_train['samples_per_s'] / plain['samples_per_s']:>8.2f} {ray_train['startup_s']:>10.1f}")
        print(f"{'ray train, wall':<24} {ray_train['wall_samples_per_s']:>10.0f} "
              f"{ray_train['wall_samples_per_s'] / plain['samples_per_s']:>8.2f} {'':>10}")
        summary["train"] = {"plain": plain, "ray": ray_train}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
