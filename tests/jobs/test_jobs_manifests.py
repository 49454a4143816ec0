"""The RayJobs and the RayService in jobs/ (and each component) point at the code the tests run, ask for
no more than their clusters hold, and pin the same Ray and libraries as the Python project."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from raygitops.schema.formats import dns1035_label_problem, parse_quantity
from raygitops.inputs.render import render

REPO = Path(__file__).resolve().parents[2]
JOBS = REPO / "jobs"
# Every overlay adds these last; without them the manifests have no image tags and no hardening.
ALWAYS = (REPO / "components" / "pod-hardening", REPO / "components" / "ray-version")
# Where the jobs run: jobs/ as every overlay has it, with its gpu component, and each overlay (which sizes it).
BUNDLES = ("jobs", "jobs+gpu", "overlays/dev", "overlays/gpu", "overlays/prod")
CODE_MOUNT = "/home/ray/jobs"


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["optional-dependencies"]["jobs"]:
        name, _, version = requirement.partition("==")
        pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


PINS = _pyproject_pins()
RAY_VERSION = PINS["ray"]


def _render_with(tmp_path: Path, bundle: str) -> list[dict[str, Any]]:
    if bundle.startswith("overlays/"):
        return [d for d in yaml.safe_load_all(render(REPO / bundle)) if d]
    # A throwaway kustomization, like an overlay: jobs/, its gpu component if asked, and what every overlay adds.
    components = [JOBS / "components" / "gpu"] if bundle == "jobs+gpu" else []
    folder = tmp_path / bundle.replace("+", "-")
    folder.mkdir()
    (folder / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{os.path.relpath(JOBS, folder)}]\n"
        f"components: [{', '.join(os.path.relpath(c, folder) for c in [*components, *ALWAYS])}]\n"
    )
    return [d for d in yaml.safe_load_all(render(folder)) if d]


@pytest.fixture(scope="module", params=BUNDLES)
def bundle(request, tmp_path_factory) -> list[dict[str, Any]]:
    return _render_with(tmp_path_factory.mktemp("render"), request.param)


def of_kind(docs: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("kind") in kinds]


def cluster_of(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["rayClusterSpec" if doc["kind"] == "RayJob" else "rayClusterConfig"]


def pod_specs(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    cluster = cluster_of(doc)
    yield "head", cluster["headGroupSpec"]["template"]["spec"]
    for group in cluster.get("workerGroupSpecs", []):
        yield group["groupName"], group["template"]["spec"]
    if doc["kind"] == "RayJob":
        yield "submitter", doc["spec"]["submitterPodTemplate"]["spec"]


def config_map(docs: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"] == name), None)


def mounted_code(docs: list[dict[str, Any]], pod: dict[str, Any]) -> dict[str, str]:
    """The ConfigMap data the Ray container sees at CODE_MOUNT ({} if nothing is mounted there)."""
    container = pod["containers"][0]
    volume_name = next((m["name"] for m in container.get("volumeMounts", []) if m["mountPath"] == CODE_MOUNT), None)
    volume = next((v for v in pod.get("volumes", []) if v["name"] == volume_name), None)
    if volume is None or "configMap" not in volume:
        return {}
    found = config_map(docs, volume["configMap"]["name"])
    return found["data"] if found else {}


def worker_capacity(doc: dict[str, Any]) -> list[tuple[int, float, float]]:
    """(max pods, CPUs, GPUs) per worker group, as Ray will advertise them from the container limits."""
    groups = []
    for group in cluster_of(doc).get("workerGroupSpecs", []):
        limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
        groups.append((int(group["maxReplicas"]), float(parse_quantity(limits["cpu"])),
                       float(parse_quantity(limits.get("nvidia.com/gpu", "0")))))
    return groups


# --- the code the pods run is the code the tests run -------------------------------------------------------


# What each workload runs, and so the only files whose change may change its spec (tune and serve import train).
PROGRAMS = {
    ("RayJob", "diabetes-train"): {"train.py": "train/train.py"},
    ("RayJob", "diabetes-tune"): {"tune.py": "tune/tune.py", "train.py": "train/train.py"},
    ("RayService", "diabetes-serve"): {"serve_app.py": "serve/serve_app.py", "train.py": "train/train.py"},
}


def test_each_workload_mounts_exactly_the_repository_programs_it_runs(bundle):
    workloads = {(d["kind"], d["metadata"]["name"]): d for d in of_kind(bundle, "RayJob", "RayService")}
    assert set(workloads) == set(PROGRAMS)
    for key, files in PROGRAMS.items():
        expected = {name: (JOBS / path).read_text() for name, path in files.items()}
        for group, pod in pod_specs(workloads[key]):
            if group != "submitter":
                assert mounted_code(bundle, pod) == expected, f"{key} {group}"


def test_no_two_workloads_share_a_code_config_map(bundle):
    """Otherwise editing tune.py would rename the serving cluster's ConfigMap and upgrade the RayService."""
    owners: dict[str, set[str]] = {}
    for doc in of_kind(bundle, "RayJob", "RayService"):
        for _, pod in pod_specs(doc):
            for volume in pod.get("volumes", []):
                if "configMap" in volume:
                    owners.setdefault(volume["configMap"]["name"], set()).add(doc["metadata"]["name"])
    shared = {name: users for name, users in owners.items() if len(users) > 1}
    assert not shared, shared


def test_generated_code_config_maps_are_kept_until_nothing_mounts_them(bundle):
    generated = [d for d in of_kind(bundle, "ConfigMap") if re.search(r"-code-[a-z0-9]{10}$", d["metadata"]["name"])]
    assert len(generated) == len(PROGRAMS)
    for config in generated:
        annotations = config["metadata"].get("annotations", {})
        assert "Prune=false" in annotations.get("argocd.argoproj.io/sync-options", ""), config["metadata"]["name"]
        assert annotations.get("argocd.argoproj.io/compare-options") == "IgnoreExtraneous"


def test_every_ray_pod_mounts_the_code_and_has_it_on_pythonpath(bundle):
    for doc in of_kind(bundle, "RayJob", "RayService"):
        for group, pod in pod_specs(doc):
            if group == "submitter":
                continue
            where = f"{doc['kind']}/{doc['metadata']['name']} {group}"
            assert mounted_code(bundle, pod), where
            env = {e["name"]: e.get("value") for e in pod["containers"][0].get("env", [])}
            assert env.get("PYTHONPATH") == CODE_MOUNT, where


def test_rayjob_entrypoint_runs_a_mounted_script_with_arguments_the_program_accepts(bundle):
    import train
    import tune

    programs = {"train.py": train, "tune.py": tune}
    for job in of_kind(bundle, "RayJob"):
        command = shlex.split(job["spec"]["entrypoint"])
        assert command[0] == "python" and command[1].startswith(CODE_MOUNT + "/"), command
        script = command[1].removeprefix(CODE_MOUNT + "/")
        head = cluster_of(job)["headGroupSpec"]["template"]["spec"]
        assert script in mounted_code(bundle, head), f"{script} is not mounted on the head"
        programs[script].parse_args(command[2:])  # argparse exits (test error) on a bad flag


def test_rayservice_import_path_and_args_match_serve_app(bundle):
    import serve_app

    for service in of_kind(bundle, "RayService"):
        config = yaml.safe_load(service["spec"]["serveConfigV2"])
        head = cluster_of(service)["headGroupSpec"]["template"]["spec"]
        for app in config["applications"]:
            module, _, attribute = app["import_path"].partition(":")
            assert f"{module}.py" in mounted_code(bundle, head)
            assert module == "serve_app" and callable(getattr(serve_app, attribute))
            args = serve_app.ServeArgs.model_validate(app["args"])
            room = sum(pods * (cpus // args.num_cpus) for pods, cpus, _ in worker_capacity(service))
            assert args.max_replicas <= room, f"{args.max_replicas} replicas of {args.num_cpus} CPU, room for {room}"


def test_rayservice_serves_with_the_measured_configuration_on_every_ray_node(bundle):
    """What jobs/README.md measured and the local runs use: serve_app.SERVE_FLAGS (HAProxy ingress) in the
    env of the head (controller, HAProxy) and of every worker group (replicas), and no @serve.batch."""
    import serve_app

    services = of_kind(bundle, "RayService")
    assert services
    for service in services:
        for group, pod in pod_specs(service):
            container = pod["containers"][0]
            env = {variable["name"]: variable.get("value") for variable in container.get("env", [])}
            missing = {name: value for name, value in serve_app.SERVE_FLAGS.items() if env.get(name) != value}
            assert not missing, f"{service['metadata']['name']} {group} ({container['name']}) lacks {missing}"
        for app in yaml.safe_load(service["spec"]["serveConfigV2"])["applications"]:
            assert not serve_app.ServeArgs.model_validate(app["args"]).use_batching, app["name"]


def test_rayjob_asks_for_no_more_than_its_cluster_can_hold(bundle):
    import train
    import tune

    for job in of_kind(bundle, "RayJob"):
        command = shlex.split(job["spec"]["entrypoint"])
        groups = worker_capacity(job)
        if command[1].endswith("train.py"):
            args = train.parse_args(command[2:])
            gpus = args.gpus_per_worker if args.use_gpu else 0.0
            slots = sum(
                pods * min(cpus // args.cpus_per_worker, (g // gpus) if gpus else float("inf"))
                for pods, cpus, g in groups
            )
            assert args.num_workers <= slots, f"{job['metadata']['name']}: {args.num_workers} workers, {slots} slots"
        else:
            args = tune.parse_args(command[2:])
            assert any(cpus >= args.cpus_per_trial for _, cpus, _ in groups)


# --- versions and dependencies -----------------------------------------------------------------------------


def _images(doc: dict[str, Any]) -> Iterator[str]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "image" and isinstance(value, str):
                yield value
            else:
                yield from _images(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from _images(item)


def test_python_pin_of_ray_is_the_lock_file_pin():
    lock = (REPO / "requirements.lock").read_text()
    assert re.search(rf"^ray=={re.escape(RAY_VERSION)}$", lock, re.MULTILINE)


IMAGE = JOBS / "image"
JOBS_IMAGE = "ghcr.io/raygitops/ray-jobs"
HASH_OPTION = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _jobs_image_tag() -> str:
    """The tag `make jobs-image` pushes: the Ray image's tag and a hash of the image's inputs."""
    inputs = (IMAGE / "Dockerfile").read_bytes() + (IMAGE / "requirements.txt").read_bytes()
    return f"{RAY_VERSION}-py311-{hashlib.sha256(inputs).hexdigest()[:12]}"


def _locked_requirements() -> dict[str, tuple[str, list[str]]]:
    """jobs/image/requirements.txt as {name: (version, sha256 hashes)}, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (IMAGE / "requirements.txt").read_text())
    locked = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, sep, version = requirement.partition("==")
        assert sep and re.fullmatch(r"[A-Za-z0-9._-]+", name) and re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), (
            f"requirements.txt: {requirement!r} is not pinned as name==version"
        )
        assert all(HASH_OPTION.fullmatch(o) for o in options), f"requirements.txt: {name} has options {options}"
        locked[name.lower().replace("_", "-")] = (version, options)
    return locked


def test_every_ray_version_and_image_tag_equals_the_python_pin(bundle):
    for doc in of_kind(bundle, "RayJob", "RayService"):
        assert cluster_of(doc)["rayVersion"] == RAY_VERSION
        for image in _images(doc):
            assert re.fullmatch(
                rf"(rayproject/ray|{re.escape(JOBS_IMAGE)}):{re.escape(RAY_VERSION)}-py311(-gpu|-[0-9a-f]{{12}})?", image
            ), image


def test_every_overlay_uses_the_same_ray(tmp_path):
    folders = sorted((REPO / "overlays").glob("*"))
    rendered = [f for f in folders if (f / "kustomization.yaml").is_file()]
    assert rendered, "no base/ or overlays/ to check"
    for folder in rendered:
        for doc in (d for d in yaml.safe_load_all(render(folder)) if d):
            if doc.get("kind") in ("RayCluster", "RayJob", "RayService"):
                version = doc["spec"]["rayVersion"] if doc["kind"] == "RayCluster" else cluster_of(doc)["rayVersion"]
                assert version == RAY_VERSION, f"{folder.name}: {doc['kind']}/{doc['metadata']['name']}"
            for image in _images(doc):
                if image.startswith(("rayproject/ray", JOBS_IMAGE)):
                    assert image.split(":")[1].startswith(RAY_VERSION + "-"), f"{folder.name}: {image}"


def _runtime_envs(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if doc["kind"] == "RayJob" and doc["spec"].get("runtimeEnvYAML"):
        yield "runtimeEnvYAML", yaml.safe_load(doc["spec"]["runtimeEnvYAML"])
    if doc["kind"] == "RayService":
        for app in yaml.safe_load(doc["spec"]["serveConfigV2"]).get("applications", []):
            yield f"serveConfigV2 application {app.get('name')}", app.get("runtime_env") or {}


def test_no_pod_installs_python_packages_without_hashes(bundle):
    """pip checks hashes only when every requirement has one: a run-time install is all hashed or absent."""
    for doc in of_kind(bundle, "RayJob", "RayService"):
        for where, env in _runtime_envs(doc):
            for key in ("pip", "uv", "conda"):
                packages = env.get(key)
                if isinstance(packages, dict):
                    packages = packages.get("packages", packages.get("dependencies"))
                lines = packages if isinstance(packages, list) else [packages] if packages else []
                requirements = [str(p) for p in lines if not str(p).startswith("-")]
                unhashed = [r for r in requirements if not HASH_OPTION.search(r)]
                assert not unhashed, f"{doc['metadata']['name']} {where}: {key} installs {unhashed} without --hash"


def test_every_ray_container_of_the_jobs_runs_the_jobs_image(bundle):
    """The image holds torch and scikit-learn; a Ray pod on another image would fail to import them."""
    for doc in of_kind(bundle, "RayJob", "RayService"):
        for label, spec in pod_specs(doc):
            if label == "submitter":
                continue  # runs `ray job submit` only: Ray's own image
            for container in spec["containers"]:
                assert container["image"] == f"{JOBS_IMAGE}:{_jobs_image_tag()}", (
                    f"{doc['metadata']['name']} {label}: {container['image']}, expected the tag of `make jobs-image`"
                )


def test_jobs_image_requirements_pin_every_package_with_hashes():
    locked = _locked_requirements()
    assert all(hashes for _, hashes in locked.values())
    wanted = {name: version for name, version in PINS.items() if name in ("torch", "scikit-learn")}
    assert {name: locked[name][0] for name in wanted if name in locked} == wanted
    # requirements.in names the same pins as pyproject.toml.
    inputs = [line for line in (IMAGE / "requirements.in").read_text().splitlines() if line and line[0] != "#"]
    assert dict(line.split("==") for line in inputs) == wanted
    # The image carries the versions the tests run with (requirements.lock), wherever both pin a package.
    tested = dict(
        line.lower().replace("_", "-").split("==")
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    drift = {name: (version, tested[name]) for name, (version, _) in locked.items() if tested.get(name, version) != version}
    assert not drift, f"jobs/image/requirements.txt vs requirements.lock: {drift}; run make jobs-image-lock"


def test_jobs_image_installs_only_hash_checked_packages_on_the_pinned_ray():
    lines = [line.strip() for line in (IMAGE / "Dockerfile").read_text().splitlines() if line.strip()]
    instructions = [line for line in lines if not line.startswith("#")]
    assert re.fullmatch(rf"FROM rayproject/ray:{re.escape(RAY_VERSION)}-py311(@sha256:[0-9a-f]{{64}})?", instructions[0])
    installs = [line for line in instructions if re.search(r"\b(pip|uv|conda)\b.*\binstall\b", line)]
    assert installs, "the Dockerfile installs nothing"
    for line in installs:
        options = set(line.split())
        assert {"--require-hashes", "--no-deps", "-r"} <= options, line


# --- lifecycle, names, hardening, GPU --------------------------------------------------------------------


def test_rayjobs_clean_up_after_themselves_and_have_a_sized_submitter(bundle):
    for job in of_kind(bundle, "RayJob"):
        spec = job["spec"]
        assert spec["shutdownAfterJobFinishes"] is True
        assert spec["ttlSecondsAfterFinished"] > 0 and spec["activeDeadlineSeconds"] > 0
        assert spec["submitterPodTemplate"]["spec"]["containers"][0]["resources"]["limits"]


def test_names_are_dns1035_and_short_enough_for_kuberay(bundle):
    for doc in of_kind(bundle, "RayJob", "RayService"):
        name = doc["metadata"]["name"]
        assert dns1035_label_problem(name) is None and len(name) <= 47, name


def test_every_pod_is_hardened_and_every_container_bounded(bundle):
    for doc in of_kind(bundle, "RayJob", "RayService"):
        for group, pod in pod_specs(doc):
            where = f"{doc['metadata']['name']} {group}"
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
            assert pod.get("automountServiceAccountToken") is False, where
            writable = {m["mountPath"] for m in pod["containers"][0].get("volumeMounts", [])}
            for container in pod["containers"]:
                security = container["securityContext"]
                assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
                assert security.get("readOnlyRootFilesystem") is True, f"{where}: writable root filesystem"
                for bound in ("requests", "limits"):
                    assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{where} {bound}"
            assert {"/tmp", "/home/ray/.cache"} <= writable, f"{where}: Ray has nowhere to write"


def test_gpu_component_trains_on_tolerated_gpu_workers(tmp_path):
    docs = _render_with(tmp_path, "jobs+gpu")
    train_job = next(d for d in of_kind(docs, "RayJob") if d["metadata"]["name"] == "diabetes-train")
    assert "--use-gpu" in shlex.split(train_job["spec"]["entrypoint"])
    groups = cluster_of(train_job)["workerGroupSpecs"]
    # The jobs' image, whose torch is PyPI's CUDA build: the CUDA runtime comes with it.
    assert groups and all(g["template"]["spec"]["containers"][0]["image"].startswith(JOBS_IMAGE) for g in groups)
    assert "nvidia-cuda-runtime" in _locked_requirements()
    for group in groups:
        pod = group["template"]["spec"]
        resources = pod["containers"][0]["resources"]
        assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"]
        assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
