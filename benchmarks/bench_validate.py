"""Benchmark the validator: resources/s and wall time.

(a) every overlay, as `make validate` runs them (a fresh `raygitops validate`
    process, so the figure includes start-up, the store and kustomize);
(b) generated bundles of mixed resources (RayCluster, RayJob, RayService,
    Service, ConfigMap) of 500 to 20,000 resources: `raygitops validate` as a
    fresh process against PyYAML's bare C loader on the same file and the real
    `kubeconform -strict -n 2` (v0.7.0, built by `make tools`) with the same
    schemas; one table row per size, with peak memory.

Usage: python benchmarks/bench_validate.py [--resources 500 2000 8000 20000] [--repeat 3] [--no-overlays] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from raygitops.engine import validate
from raygitops.engines.kubeconform import write_standalone_schemas
from raygitops.inputs.sources import default_targets, find_repo_root, load_paths
from raygitops.parallel import available_cores
from raygitops.schema.store import SchemaStore
from raygitops.tools import find_tool

REPO_ROOT = Path(__file__).resolve().parents[1]
# As a user runs it: Python keeps its bytecode caches. A machine that sets PYTHONDONTWRITEBYTECODE (CI
# images often do) compiles every module of the validator on every run, about 0.1 s more each time.
USER_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
RAY_IMAGE = "rayproject/ray:2.60.0-py311"


def _ray_container(cpu: str, memory: str) -> dict:
    return {
        "name": "ray-worker",
        "image": RAY_IMAGE,
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}},
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
    }


def _cluster_spec(index: int) -> dict:
    head = _ray_container("1", "2Gi") | {"name": "ray-head", "ports": [
        {"containerPort": 6379, "name": "gcs-server"}, {"containerPort": 8265, "name": "dashboard"},
        {"containerPort": 10001, "name": "client"}, {"containerPort": 8000, "name": "serve"},
    ]}
    return {
        "rayVersion": "2.60.0",
        "authOptions": {"mode": "token"},
        "headGroupSpec": {"rayStartParams": {}, "template": {"metadata": None, "spec": {"containers": [head]}}},
        "workerGroupSpecs": [{
            "groupName": f"cpu-{index % 7}",
            "replicas": 1,  # min/maxReplicas omitted on purpose: the CRD defaults them
            "rayStartParams": {},
            "template": {"spec": {"containers": [_ray_container("2", "4Gi")]}},
        }],
    }


NETWORK_POLICY = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "ray-default-deny", "namespace": "ray"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


def generate_bundle(count: int) -> list[dict]:
    """`count` valid resources: one NetworkPolicy, then RayCluster, RayJob, RayService, Service, ConfigMap in turn."""
    resources: list[dict] = [NETWORK_POLICY]
    for i in range(count - 1):
        name = f"bench-{i}"
        match i % 5:
            case 0:
                resources.append({"apiVersion": "ray.io/v1", "kind": "RayCluster",
                                  "metadata": {"name": name, "namespace": "ray"}, "spec": _cluster_spec(i)})
            case 1:
                resources.append({"apiVersion": "ray.io/v1", "kind": "RayJob",
                                  "metadata": {"name": name, "namespace": "ray"},
                                  "spec": {"entrypoint": "python -c 'print(1)'", "shutdownAfterJobFinishes": True,
                                           "ttlSecondsAfterFinished": 60, "rayClusterSpec": _cluster_spec(i)}})
            case 2:
                resources.append({"apiVersion": "ray.io/v1", "kind": "RayService",
                                  "metadata": {"name": name, "namespace": "ray"},
                                  "spec": {"serveConfigV2": "applications:\n- name: app\n  import_path: app:app\n",
                                           "rayClusterConfig": _cluster_spec(i)}})
            case 3:
                resources.append({"apiVersion": "v1", "kind": "Service",
                                  "metadata": {"name": name, "namespace": "ray", "labels": {"app": name}},
                                  "spec": {"selector": {"ray.io/cluster": f"bench-{i - 3}"},
                                           "ports": [{"name": "dashboard", "port": 8265, "targetPort": "dashboard"}]}})
            case _:
                resources.append({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": name, "namespace": "ray"},
                                  "data": {"app.py": "print('hello')\n" * 20}})
    return resources


def _best_of(repeat: int, run) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def bench_overlays(repeat: int) -> None:
    targets = [str(t) for t in default_targets(find_repo_root(REPO_ROOT))]
    command = [str(Path(sys.executable).with_name("raygitops")), "validate", *targets]
    resources = validate(load_paths(targets), SchemaStore.open()).resources
    subprocess.run(command, capture_output=True, check=False, env=USER_ENV)  # writes the bytecode caches
    wall = _best_of(repeat, lambda: subprocess.run(command, capture_output=True, check=False, env=USER_ENV))
    print(f"(a) overlays   {len(targets)} targets, {resources} resources: "
          f"{wall:.2f} s wall (fresh process, warm store), {resources / wall:,.0f} resources/s")


@dataclass
class Run:
    """One fresh process: its wall and CPU time, peak resident memory and what it printed."""

    wall: float
    cpu: float
    peak_mib: float
    stdout: str


def _run(command: list[str]) -> Run:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=USER_ENV)
    stdout = process.stdout.read() if process.stdout else ""
    _, _, usage = os.wait4(process.pid, 0)  # this child's own peak RSS, not the largest child's so far
    wall = time.perf_counter() - start
    process.returncode = 0  # reaped above; keep Popen from waiting again
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout)


def _peak_pss_mib(command: list[str]) -> float | None:
    """The largest sum of proportional set sizes of the process and its forked workers, sampled every
    10 ms in an extra, untimed run: a worker's pages shared with its parent count once, split between
    them, and pages copied on write count for each (Linux only; None elsewhere)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=USER_ENV)
    peak = 0

    def pss_kib(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
        except OSError:
            return 0

    while process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/task/{process.pid}/children") as listing:
                workers = [int(pid) for pid in listing.read().split()]
        except OSError:
            process.wait()
            return None
        peak = max(peak, pss_kib(process.pid) + sum(pss_kib(pid) for pid in workers))
        time.sleep(0.01)
    return peak / 1024


# The reference any machine can run: PyYAML's C loader reading the same file, timed inside the process.
C_LOADER = (
    "import sys, time, yaml\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "start, cpu = time.perf_counter(), time.process_time()\n"
    "documents = list(yaml.load_all(data, Loader=yaml.CSafeLoader))\n"
    "print(time.perf_counter() - start, time.process_time() - cpu)\n"
)


def _write_bundle(count: int, path: Path) -> None:
    """`generate_bundle(count)` as YAML at `path`, written by a child process: a child's peak memory
    (ru_maxrss) starts from its parent's at exec on Linux, so a bench that built a 20,000-resource
    bundle itself (150 MiB) would report that as the peak of every process it times."""
    code = (
        "import sys, yaml; sys.path.insert(0, sys.argv[1]); from bench_validate import generate_bundle; "
        "open(sys.argv[3], 'w').write(yaml.safe_dump_all(generate_bundle(int(sys.argv[2])), sort_keys=False))"
    )
    subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(count), str(path)], check=True)


def bench_bundles(sizes: list[int], repeat: int, jobs: int | None = None) -> None:
    """Whole processes, as a user times them, interleaved so that load on the machine hits all three alike.

    CPU time (user + system) is printed next to wall time: on a shared machine it moves far less.
    """
    store = SchemaStore.open()
    raygitops = str(Path(sys.executable).with_name("raygitops"))
    validate_command = [raygitops, "validate", "--output", "json", *(["--jobs", str(jobs)] if jobs else [])]
    kubeconform = find_tool("kubeconform")
    print(f"(b) bundles: fresh processes, warm store, median of {repeat} interleaved runs; "
          "C loader = yaml.load_all(CSafeLoader) on the same file, in-process time; "
          f"raygitops on {jobs or available_cores()} cores (-j), kubeconform -n 2; "
          "peak: the largest resident set of one process (the validator's or a worker's)")
    header = ("| resources | raygitops wall (cpu) | resources/s | peak | peak PSS, all processes "
              "| C loader wall (cpu) | ratio wall (cpu) | kubeconform wall (cpu) | ratio wall | kubeconform peak |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(header))
    with tempfile.TemporaryDirectory() as tmp:
        location = write_standalone_schemas(store, Path(tmp) / "schemas") if kubeconform else ""
        for count in sizes:
            bundle = Path(tmp) / f"bundle-{count}.yaml"
            _write_bundle(count, bundle)
            _run([*validate_command, str(bundle)])  # untimed: the bytecode caches, and the file in the page cache
            ours: list[Run] = []
            loader: list[tuple[float, float]] = []
            theirs: list[Run] = []
            for _ in range(repeat):
                ours.append(_run([*validate_command, str(bundle)]))
                wall_s, cpu_s = _run([sys.executable, "-c", C_LOADER, str(bundle)]).stdout.split()
                loader.append((float(wall_s), float(cpu_s)))
                if kubeconform:
                    theirs.append(_run([kubeconform, "-strict", "-summary", "-n", "2",
                                        "-schema-location", location, str(bundle)]))
            errors = json.loads(ours[0].stdout)["summary"]["errors"]
            if errors:
                print(f"note: the generated bundle has {errors} errors")
            wall, cpu = median(r.wall for r in ours), median(r.cpu for r in ours)
            c_wall, c_cpu = median(w for w, _ in loader), median(c for _, c in loader)
            pss = _peak_pss_mib([*validate_command, str(bundle)])
            row = [f"{count:,}", f"{wall:.2f} s ({cpu:.2f})", f"{count / wall:,.0f}",
                   f"{max(r.peak_mib for r in ours):.0f} MiB", "n/a" if pss is None else f"{pss:.0f} MiB",
                   f"{c_wall:.2f} s ({c_cpu:.2f})", f"{wall / c_wall:.2f} ({cpu / c_cpu:.2f})"]
            if theirs:
                external, external_cpu = median(r.wall for r in theirs), median(r.cpu for r in theirs)
                row += [f"{external:.2f} s ({external_cpu:.2f})", f"{wall / external:.2f}",
                        f"{max(r.peak_mib for r in theirs):.0f} MiB"]
            else:
                row += ["not on PATH (make tools)", "", ""]
            print("| " + " | ".join(row) + " |", flush=True)
    print("goals: ratio to the C loader <= 1.4 at 2,000 and <= 0.75 at 20,000; "
          "growth 2,000 -> 20,000 <= 10.5x; peak at 20,000 < 150 MiB")
    print("-j 1 keeps one process: slower, and its peak PSS is its own")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, nargs="+", default=[500, 2000, 8000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-overlays", action="store_true", help="only the generated bundles")
    parser.add_argument("--jobs", type=int, default=None, help="raygitops's -j (default: its own, every core)")
    args = parser.parse_args()
    if not args.no_overlays:
        bench_overlays(args.repeat)
    bench_bundles(args.resources, args.repeat, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
