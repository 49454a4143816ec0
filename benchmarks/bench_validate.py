"""Benchmark the validator: resources/s and wall time.

(a) every overlay, as `make validate` runs them (a fresh `raygitops validate`
    process, so the figure includes start-up, the store and kustomize);
(b) a generated bundle of mixed resources (RayCluster, RayJob, RayService,
    Service, ConfigMap) through the builtin engine in one process, and through
    the real `kubeconform -n 2` (v0.7.0, built by `make tools`) with the same
    schemas; the ratio builtin/kubeconform is the figure to watch.

Usage: python benchmarks/bench_validate.py [--resources 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from raygitops.engine import Options, validate
from raygitops.engines.kubeconform import write_standalone_schemas
from raygitops.inputs.sources import default_targets, find_repo_root, load_paths
from raygitops.schema.store import SchemaStore
from raygitops.tools import find_tool

REPO_ROOT = Path(__file__).resolve().parents[1]
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
    wall = _best_of(repeat, lambda: subprocess.run(command, capture_output=True, check=False))
    print(f"(a) overlays   {len(targets)} targets, {resources} resources: "
          f"{wall:.2f} s wall (fresh process, warm store), {resources / wall:,.0f} resources/s")


def bench_bundle(count: int, repeat: int) -> None:
    store = SchemaStore.open()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle.yaml"
        bundle.write_text(yaml.safe_dump_all(generate_bundle(count), sort_keys=False))
        sources = load_paths([str(bundle)])
        report = validate(sources, store)
        if report.errors:
            print(f"note: the generated bundle has {report.errors} errors, e.g. {report.findings[0].message}")
        builtin = _best_of(repeat, lambda: validate(load_paths([str(bundle)]), store, Options()))
        print(f"(b) bundle     {count} resources, builtin engine: {builtin:.2f} s, {count / builtin:,.0f} resources/s "
              "(decode + schema + CEL + native + Ray rules)")
        kubeconform = find_tool("kubeconform")
        if not kubeconform:
            print("    kubeconform: not found; run `make tools` to build the pinned v0.7.0 and get the ratio")
            return

        location = write_standalone_schemas(store, Path(tmp) / "schemas")
        command = [kubeconform, "-strict", "-summary", "-n", "2", "-schema-location", str(location), str(bundle)]
        checked = subprocess.run(command, capture_output=True, text=True, check=False)
        if checked.returncode != 0:  # a ratio against a run that failed would mean nothing
            print(f"note: kubeconform found the bundle invalid: {checked.stdout.strip()[-300:]}")
        external = _best_of(repeat, lambda: subprocess.run(command, capture_output=True, check=False))
        print(f"    kubeconform -n 2: {external:.2f} s, {count / external:,.0f} resources/s; "
              f"ratio builtin/kubeconform = {builtin / external:.2f} (goal <= 1.0)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bench_overlays(args.repeat)
    bench_bundle(args.resources, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
