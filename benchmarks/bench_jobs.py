"""Benchmark the jobs on this machine: Ray Serve against a plain FastAPI app, Ray Train against plain PyTorch.

    make bench-jobs          (PYTHONPATH=jobs/train:jobs/tune:jobs/serve python benchmarks/bench_jobs.py)
    make bench-jobs BENCH_JOBS_ARGS="--configs plain,shipped,batch --rounds 5 --skip-train"

Serve: requests/s and p50/p99 latency at concurrency 1, 4, 16 and 64 for each configuration of
``SERVE_CONFIGS`` (``--configs``; ``plain`` is serve_app's own handler in one uvicorn process, no Ray),
each in a fresh process with, for Serve, a fresh local Ray, interleaved over ``--rounds`` rounds (plain, A,
B, plain, A, B, ...) so that the load of a shared machine falls on all alike. Per configuration: the median
over the rounds, the min..max of req/s, the median of the per-round ratios to that round's plain run, and
the min..max of the machine's load average at the end of each run.
Loopback only; bounded request counts; the load generator shares the cores.

Train: steady-state samples/s of Ray Train (TorchTrainer, N workers x 1 CPU, DDP) against a plain PyTorch
loop with N threads on the same cores, on the diabetes rows tiled to a larger set; startup (cluster and
worker group) shown apart. "compute" counts time inside the epochs only; "wall" also counts the
per-epoch ray.train.report round trip.

Goals (issue 10): Serve >= 0.5x plain requests/s at concurrency 16 with p99 <= 3x plain's at every
concurrency; Train >= 0.67x.
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

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import serve_app  # noqa: E402
import torch  # noqa: E402
import train  # noqa: E402

CONCURRENCY = (1, 4, 16, 64)
REQUESTS = {1: 300, 4: 1200, 16: 1200, 64: 2000}  # per level, after a warm-up


# --- serve -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    concurrency: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    load: float  # the machine's 1-minute load average at the end of the run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _load(url: str, concurrency: int, total: int) -> LoadResult:
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
        errors, os.getloadavg()[0],
    )


def measure(url: str, levels: list[int]) -> list[LoadResult]:
    return [asyncio.run(_load(url, c, REQUESTS[c])) for c in levels]


@dataclass(frozen=True)
class ServeConfig:
    """One way to run the app. ``env``: serve_app.serve_flags sets it in the process that starts Ray (Serve
    reads its feature flags from the environment when its processes start); ``args`` are app_builder's; ``plain`` is uvicorn
    without Ray; ``direct``: clients reach the ingress replica's own HTTP port instead of the proxy's."""

    description: str
    env: dict[str, str]
    args: dict[str, object]
    plain: bool = False
    direct: bool = False


NO_BATCH = {"use_batching": False}
SERVE_CONFIGS: dict[str, ServeConfig] = {
    "plain": ServeConfig("plain FastAPI/uvicorn, 1 process, same handler", {}, {}, plain=True),
    "shipped": ServeConfig("what the RayService and the local runs use: serve_app.SERVE_FLAGS "
                           f"({', '.join(f'{k}={v}' for k, v in serve_app.SERVE_FLAGS.items())}), "
                           "app_builder's defaults (no batching)", serve_app.SERVE_FLAGS, {}),
    "shipped-4t": ServeConfig("shipped, but HAProxy with Serve's default of 4 threads",
                              {**serve_app.SERVE_FLAGS, "RAY_SERVE_HAPROXY_NBTHREAD": "4"}, {}),
    "batch": ServeConfig("Serve proxy, @serve.batch (32, 5 ms wait): what shipped before",
                         {}, {"use_batching": True}),
    "batch-0ms": ServeConfig("Serve proxy, @serve.batch (32, no wait)", {},
                             {"use_batching": True, "batch_wait_timeout_s": 0.0}),
    "proxy": ServeConfig("Serve proxy, no batching", {}, NO_BATCH),
    "proxy-mor16": ServeConfig("Serve proxy, no batching, max_ongoing_requests 16", {},
                               {**NO_BATCH, "max_ongoing_requests": 16}),
    "proxy-2rep": ServeConfig("Serve proxy, no batching, 2 replicas", {},
                              {**NO_BATCH, "min_replicas": 2, "max_replicas": 2}),
    "haproxy": ServeConfig("HAProxy ingress (RAY_SERVE_ENABLE_HA_PROXY=1), no batching",
                           {"RAY_SERVE_ENABLE_HA_PROXY": "1"}, NO_BATCH),
    "haproxy-batch": ServeConfig("HAProxy ingress, @serve.batch (32, 5 ms wait)",
                                 {"RAY_SERVE_ENABLE_HA_PROXY": "1"}, {"use_batching": True}),
    "haproxy-main": ServeConfig("HAProxy ingress, user code on the replica's main loop "
                                "(RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD=0), no batching",
                                {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0"},
                                NO_BATCH),
    "haproxy-2rep": ServeConfig("HAProxy ingress, no batching, 2 replicas", {"RAY_SERVE_ENABLE_HA_PROXY": "1"},
                                {**NO_BATCH, "min_replicas": 2, "max_replicas": 2}),
    "haproxy-tput": ServeConfig("HAProxy ingress + RAY_SERVE_THROUGHPUT_OPTIMIZED=1, no batching",
                                {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}, NO_BATCH),
    "direct": ServeConfig("direct ingress (RAY_SERVE_ENABLE_DIRECT_INGRESS=1) on the replica's port, no batching",
                          {"RAY_SERVE_ENABLE_DIRECT_INGRESS": "1"}, NO_BATCH, direct=True),
    "throughput": ServeConfig("RAY_SERVE_THROUGHPUT_OPTIMIZED=1 (direct ingress, user code on the replica's "
                              "main loop) on the replica's port, no batching",
                              {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}, NO_BATCH, direct=True),
}
DEFAULT_CONFIGS = "plain,shipped,batch,proxy,haproxy"
# After Serve reports the app running, HAProxy still reloads with the replica's port (about a second later).
SETTLE_S = 5.0


def wait_for_port(port: int, process: subprocess.Popen, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited early")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {limit_s}s")


def listening_port(low: int, high: int, limit_s: float = 120) -> int:
    """The first loopback port in low..high that accepts a connection (direct ingress picks one there)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        for port in range(low, high + 1):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return port
        time.sleep(0.5)
    raise RuntimeError(f"no ingress replica listens on ports {low}..{high}")


def run_server(name: str, port: int, model_dir: str) -> int:
    """Subprocess: serve config ``name`` on 127.0.0.1:port, print ``READY <url>``, run until SIGTERM."""
    import signal

    config = SERVE_CONFIGS[name]
    if config.plain:
        import uvicorn

        print(f"READY http://127.0.0.1:{port}/predict", flush=True)
        uvicorn.run(serve_app.plain_app(model_dir), host="127.0.0.1", port=port, log_level="warning")
        return 0
    import ray
    from ray import serve

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # serve_flags as the local runs use it: HAProxy's files and ports private to this run.
    with serve_app.serve_flags(config.env):
        # Like the plain app (uvicorn at log level warning): no per-request access log shipped to this driver.
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            url = serve_app.start(model_dir, port=port, access_log=False, **{"max_replicas": 1, **config.args})
            if config.direct:
                low = int(os.environ["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"])
                url = f"http://127.0.0.1:{listening_port(low, int(os.environ['RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT']))}"
            print(f"READY {url}/predict", flush=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
        finally:
            serve.shutdown()
            ray.shutdown()


def serve_once(name: str, model_dir: str, levels: list[int], ray_tmp: str) -> list[LoadResult]:
    """Start config ``name`` in a fresh process (for Serve with a fresh Ray), load it, stop it."""
    port = free_port()
    base = free_port()  # direct ingress: a loopback port range of our own (free now, rarely taken soon)
    env = {**os.environ, "RAY_TMPDIR": ray_tmp,
           "RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT": str(base), "RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT": str(base + 20),
           "RAY_SERVE_DIRECT_INGRESS_MIN_GRPC_PORT": str(base + 21),
           "RAY_SERVE_DIRECT_INGRESS_MAX_GRPC_PORT": str(base + 41),
           # An ingress replica otherwise stays up 30 s after shutdown for load balancers to deregister it.
           "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "0"}
    env.pop("RAY_ADDRESS", None)
    log_path = os.path.join(ray_tmp, f"server-{name}-{port}.log")
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, __file__, "--server", name, "--port", str(port), "--model-dir", model_dir],
            stdout=subprocess.PIPE, stderr=log, text=True, env=env,
        )
    try:
        url = next((line.split()[1] for line in server.stdout if line.startswith("READY ")), "")
        if not url:
            tail = Path(log_path).read_text(errors="replace")[-1500:]
            raise RuntimeError(f"serve config {name} exited before it was ready:\n{tail}")
        wait_for_port(int(url.split(":")[2].split("/")[0]), server)
        if not SERVE_CONFIGS[name].plain:
            time.sleep(SETTLE_S)
        return measure(url, levels)
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def bench_serve(model_dir: str, names: list[str], rounds: int, levels: list[int]) -> dict[str, list[list[LoadResult]]]:
    """Every config once per round, interleaved (plain, A, B, plain, A, B, ...) so that drifting load on a
    shared machine falls on all alike; each config's results per round."""
    results: dict[str, list[list[LoadResult]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as ray_tmp:
        for round_index in range(rounds):
            for name in names:
                print(f"serve: round {round_index + 1}/{rounds}: {name} ...", file=sys.stderr, flush=True)
                try:
                    runs = serve_once(name, model_dir, levels, ray_tmp)
                # A loaded machine can time Ray's start out, or a connection drop: leave this run out.
                except (RuntimeError, httpx.HTTPError) as error:
                    print(f"serve: {name} failed in round {round_index + 1}, left out: {error}", file=sys.stderr)
                    continue
                results[name].append(runs)
                print("  " + "; ".join(f"c={r.concurrency} {r.rps:.0f} req/s p50 {r.p50_ms:.1f} p99 {r.p99_ms:.1f} ms "
                                       f"(load {r.load:.1f})" for r in runs), file=sys.stderr, flush=True)
    return {name: runs for name, runs in results.items() if runs}


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


def print_serve_table(results: dict[str, list[list[LoadResult]]], levels: list[int]) -> None:
    """Medians over rounds; ratios are per round against that round's plain run, then the median."""
    print(f"{'serve':<13} {'conc':>4} {'req/s':>7} {'min..max':>11} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'x plain rps':>11} {'x plain p99':>11} {'errors':>6} {'load':>9}")
    plain = results.get("plain")
    for name, rounds in results.items():
        for index, level in enumerate(levels):
            runs = [r[index] for r in rounds]
            rps = [r.rps for r in runs]
            line = (f"{name:<13} {level:>4} {statistics.median(rps):>7.0f} {f'{min(rps):.0f}..{max(rps):.0f}':>11} "
                    f"{statistics.median(r.p50_ms for r in runs):>7.1f} {statistics.median(r.p99_ms for r in runs):>7.1f}")
            if plain and len(plain) == len(rounds):
                base = [p[index] for p in plain]
                rps_ratio = statistics.median(r.rps / b.rps for r, b in zip(runs, base))
                p99_ratio = statistics.median(r.p99_ms / b.p99_ms for r, b in zip(runs, base))
            elif plain:  # a run was left out: against plain's medians
                rps_ratio = statistics.median(rps) / statistics.median(p[index].rps for p in plain)
                p99_ratio = (statistics.median(r.p99_ms for r in runs)
                             / statistics.median(p[index].p99_ms for p in plain))
            if plain:
                line += f" {rps_ratio:>11.2f} {p99_ratio:>11.2f}"
            else:
                line += f" {'':>11} {'':>11}"
            loads = [r.load for r in runs]
            print(line + f" {sum(r.errors for r in runs):>6} {f'{min(loads):.1f}..{max(loads):.1f}':>9}")
    for name in results:
        print(f"  {name}: {SERVE_CONFIGS[name].description}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=sorted(SERVE_CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cpus", type=int, default=2, help="cores for Ray Train and for the plain loop")
    parser.add_argument("--copies", type=int, default=300, help="diabetes training rows tiled this many times")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--levels", default=",".join(map(str, CONCURRENCY)), help="concurrency levels, e.g. 16")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS,
                        help=f"Serve configurations to compare, of: {', '.join(SERVE_CONFIGS)}")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over the configurations")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args(argv)

    if args.server:
        return run_server(args.server, args.port, args.model_dir)

    levels = [int(level) for level in args.levels.split(",")]
    for level in levels:
        REQUESTS.setdefault(level, 1200)
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVE_CONFIGS]
    if unknown or args.rounds < 1:
        parser.error(f"unknown --configs {unknown}; known: {', '.join(SERVE_CONFIGS)}" if unknown
                     else "--rounds must be at least 1")
    summary: dict[str, object] = {}
    if not args.skip_serve:
        with tempfile.TemporaryDirectory(prefix="bench-model-") as model_dir:
            splits = train.load_splits()
            train.save_model(model_dir, train.build_model(8), 8, splits.scaling)
            serve_results = bench_serve(model_dir, names, args.rounds, levels)
        print_serve_table(serve_results, levels)
        summary["serve"] = {k: [[r.__dict__ for r in run] for run in v] for k, v in serve_results.items()}
        failed = sum(r.errors for rounds in serve_results.values() for run in rounds for r in run)
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
