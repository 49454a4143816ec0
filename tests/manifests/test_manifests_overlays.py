"""Facts every rendered overlay must hold: what a user applying it relies on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .bundle import MONITORED_OVERLAYS, OVERLAYS, Bundle, containers, labels_match

REPO_ROOT = Path(__file__).resolve().parents[2]

RAY_VERSION = "2.60.0"
RAY_IMAGE = re.compile(r"^(?:(?:docker\.io/)?rayproject/ray(?:-ml)?|(?P<jobs>ghcr\.io/raygitops/ray-jobs)):(?P<tag>[^@]+)$")
# Ports that give code execution or control of the cluster (GCS, Ray client) — never to outsiders.
CONTROL_PORTS = {6379, 10001}
DASHBOARD_PORT = 8265
SECRET_LIKE_ENV = re.compile(r"PASSWORD|TOKEN|SECRET|CREDENTIAL|API_KEY", re.IGNORECASE)


def kuberay_pod_labels(cluster: str, node_type: str, group: str, template_labels: dict) -> dict[str, str]:
    """The labels KubeRay puts on the pods it creates for a group (plus the template's own)."""
    return {
        **template_labels,
        "ray.io/cluster": cluster,
        "ray.io/node-type": node_type,
        "ray.io/group": group,
        "ray.io/is-ray-node": "yes",
    }


def main_cluster_pods(bundle: Bundle) -> list[dict[str, str]]:
    cluster = bundle.one("RayCluster", "raycluster-kuberay")
    spec = cluster["spec"]
    head_labels = spec["headGroupSpec"]["template"].get("metadata", {}).get("labels", {})
    pods = [kuberay_pod_labels("raycluster-kuberay", "head", "headgroup", head_labels)]
    for group in spec["workerGroupSpecs"]:
        template_labels = group["template"].get("metadata", {}).get("labels", {})
        pods.append(kuberay_pod_labels("raycluster-kuberay", "worker", group["groupName"], template_labels))
    return pods


def test_overlay_deploys_only_namespaced_objects_into_its_own_namespace(overlay: Bundle):
    expected = f"ray-{overlay.name}"
    misplaced = [
        f"{doc['kind']}/{doc['metadata']['name']} in {doc['metadata'].get('namespace')}"
        for doc in overlay.documents
        if doc["metadata"].get("namespace") != expected
    ]
    assert not misplaced, f"overlays/{overlay.name}: resources outside {expected} (cluster-setup/ creates those): {misplaced}"


def test_every_ray_image_and_ray_version_is_pinned(overlay: Bundle):
    problems = []
    for label, spec in overlay.ray_cluster_specs():
        if spec.get("rayVersion") != RAY_VERSION:
            problems.append(f"{label}: rayVersion {spec.get('rayVersion')!r}")
    for template in overlay.pod_templates():
        for container in containers(template.spec):
            match = RAY_IMAGE.match(container["image"])
            if template.is_ray_node and not match:
                problems.append(f"{template.where} {container['name']}: not a rayproject/ray image: {container['image']}")
            # rayproject/ray's CPU or GPU build, or the jobs' image (jobs/image) built on it.
            suffix = r"-[0-9a-f]{12}" if match and match["jobs"] else r"(-gpu)?"
            if match and not re.fullmatch(rf"{re.escape(RAY_VERSION)}-py311{suffix}", match["tag"]):
                problems.append(f"{template.where} {container['name']}: image {container['image']}")
    assert not problems, "\n".join(problems)


def test_every_container_has_cpu_and_memory_requests_and_limits(overlay: Bundle):
    problems = []
    for template in overlay.pod_templates():
        for container in containers(template.spec):
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(kind, {}))
                if missing:
                    problems.append(f"{template.where} {container['name']}: no {kind} for {sorted(missing)}")
    for label, spec in overlay.ray_cluster_specs():
        if spec.get("enableInTreeAutoscaling"):
            resources = spec.get("autoscalerOptions", {}).get("resources", {})
            if not ({"cpu", "memory"} <= set(resources.get("requests", {})) and {"cpu", "memory"} <= set(resources.get("limits", {}))):
                problems.append(f"{label}: autoscaler container without cpu/memory requests and limits")
    assert not problems, "\n".join(problems)


def test_ray_pods_are_hardened(overlay: Bundle):
    problems = []
    for template in overlay.pod_templates():
        pod_context = template.spec.get("securityContext", {})
        if pod_context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{template.where}: seccompProfile is not RuntimeDefault")
        for container in containers(template.spec):
            context = container.get("securityContext", {})
            if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
                problems.append(f"{template.where} {container['name']}: may run as root")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{template.where} {container['name']}: privilege escalation not disabled")
            if "ALL" not in context.get("capabilities", {}).get("drop", []):
                problems.append(f"{template.where} {container['name']}: capabilities not dropped")
            if context.get("privileged"):
                problems.append(f"{template.where} {container['name']}: privileged")
        if template.spec.get("hostNetwork") or any("hostPath" in v for v in template.spec.get("volumes", [])):
            problems.append(f"{template.where}: uses the host network or a hostPath volume")
    for label, spec in overlay.ray_cluster_specs():
        if not spec.get("enableInTreeAutoscaling"):
            continue
        # KubeRay adds the autoscaler sidecar to the head with this securityContext.
        context = spec.get("autoscalerOptions", {}).get("securityContext", {})
        if context.get("allowPrivilegeEscalation") is not False or "ALL" not in context.get("capabilities", {}).get("drop", []):
            problems.append(f"{label}: autoscaler container is not hardened")
    assert not problems, "\n".join(problems)


SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def test_only_the_autoscaler_holds_a_service_account_token(overlay: Bundle):
    """No pod automounts a token; the autoscaler sidecar alone mounts one, so drivers on the head never see it."""
    problems = []
    for template in overlay.pod_templates():
        if template.spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{template.where}: automounts a service-account token into every container")
        for container in containers(template.spec):
            if any(m["mountPath"] == SERVICE_ACCOUNT_DIR for m in container.get("volumeMounts", [])):
                problems.append(f"{template.where} {container['name']}: mounts a service-account token")
    for label, spec in overlay.ray_cluster_specs():
        mounts = {m["mountPath"]: m["name"] for m in spec.get("autoscalerOptions", {}).get("volumeMounts", [])}
        if not spec.get("enableInTreeAutoscaling"):
            continue
        volumes = {v["name"]: v for v in spec["headGroupSpec"]["template"]["spec"].get("volumes", [])}
        projected = volumes.get(mounts.get(SERVICE_ACCOUNT_DIR), {}).get("projected", {}).get("sources", [])
        if not any("serviceAccountToken" in source for source in projected):
            problems.append(f"{label}: the autoscaler sidecar gets no service-account token to scale with")
    assert not problems, "\n".join(problems)


def test_every_container_has_a_read_only_root_and_writable_scratch(overlay: Bundle):
    problems = []
    for template in overlay.pod_templates():
        volumes = {v["name"]: v for v in template.spec.get("volumes", [])}
        for container in containers(template.spec):
            if container.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
                problems.append(f"{template.where} {container['name']}: root filesystem is writable")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            for path in ("/tmp", "/home/ray/.cache"):
                if "emptyDir" not in volumes.get(mounts.get(path), {}):
                    problems.append(f"{template.where} {container['name']}: no emptyDir at {path}")
    for label, spec in overlay.ray_cluster_specs():
        if spec.get("enableInTreeAutoscaling"):
            options = spec.get("autoscalerOptions", {})
            if options.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
                problems.append(f"{label}: the autoscaler's root filesystem is writable")
            if "/tmp" not in {m["mountPath"] for m in options.get("volumeMounts", [])}:
                problems.append(f"{label}: the autoscaler has no writable /tmp")
    assert not problems, "\n".join(problems)


def test_ray_logs_live_on_an_empty_dir(overlay: Bundle):
    for template in overlay.pod_templates():
        if not template.is_ray_node:
            continue
        volumes = {v["name"]: v for v in template.spec.get("volumes", [])}
        ray_container = template.spec["containers"][0]
        mounts = {m["mountPath"]: m["name"] for m in ray_container.get("volumeMounts", [])}
        assert "/tmp/ray" in mounts, f"{template.where}: /tmp/ray is not mounted"
        assert "emptyDir" in volumes[mounts["/tmp/ray"]], f"{template.where}: /tmp/ray is not an emptyDir"


def test_token_authentication_is_on_everywhere(overlay: Bundle):
    for label, spec in overlay.ray_cluster_specs():
        auth = spec.get("authOptions", {})
        assert auth.get("mode") == "token", f"{label}: authOptions.mode is {auth.get('mode')!r}, not token"


def test_main_cluster_autoscales_with_v2_and_recreates_on_change(overlay: Bundle):
    spec = overlay.one("RayCluster", "raycluster-kuberay")["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["version"] == "v2"
    assert spec["autoscalerOptions"]["upscalingMode"] == "Default"
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] > 0
    assert spec["upgradeStrategy"]["type"] == "Recreate"
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    for group in spec["workerGroupSpecs"]:
        assert 0 <= group["minReplicas"] <= group["maxReplicas"], group["groupName"]


def test_head_declares_kuberay_port_names(overlay: Bundle):
    head = overlay.one("RayCluster", "raycluster-kuberay")["spec"]["headGroupSpec"]["template"]["spec"]
    ports = {p["name"]: p["containerPort"] for p in head["containers"][0]["ports"]}
    assert ports == {
        "gcs-server": 6379,
        "dashboard": 8265,
        "client": 10001,
        "serve": 8000,
        "metrics": 8080,
        "as-metrics": 44217,
        "dash-metrics": 44227,
    }


def test_no_secret_values_in_the_repository(overlay: Bundle):
    assert not overlay.of_kind("Secret"), "Secrets are created in the cluster, never rendered from Git"
    problems = []
    for template in overlay.pod_templates():
        for container in containers(template.spec):
            for env in container.get("env", []):
                if SECRET_LIKE_ENV.search(env["name"]) and "value" in env:
                    problems.append(f"{template.where} {container['name']}: env {env['name']} has a literal value")
    for label, spec in overlay.ray_cluster_specs():
        password = spec.get("gcsFaultToleranceOptions", {}).get("redisPassword", {})
        if "value" in password:
            problems.append(f"{label}: literal Redis password")
    assert not problems, "\n".join(problems)


def test_every_gpu_request_equals_its_limit_and_is_tolerated(overlay: Bundle):
    for template in overlay.pod_templates():
        gpu_containers = [c for c in containers(template.spec) if "nvidia.com/gpu" in c.get("resources", {}).get("limits", {}) or "nvidia.com/gpu" in c.get("resources", {}).get("requests", {})]
        if not gpu_containers:
            continue
        for container in gpu_containers:
            resources = container["resources"]
            assert resources.get("requests", {}).get("nvidia.com/gpu") == resources.get("limits", {}).get("nvidia.com/gpu"), (
                f"{template.where} {container['name']}: nvidia.com/gpu requests differ from limits"
            )
        tolerated = [t for t in template.spec.get("tolerations", []) if t.get("key") == "nvidia.com/gpu"]
        assert tolerated, f"{template.where}: asks for GPUs but does not tolerate the nvidia.com/gpu taint"


def test_gpu_overlay_adds_a_gpu_group_that_scales_from_zero(overlays: dict[str, Bundle]):
    spec = overlays["gpu"].one("RayCluster", "raycluster-kuberay")["spec"]
    gpu_groups = [g for g in spec["workerGroupSpecs"] if "nvidia.com/gpu" in g["template"]["spec"]["containers"][0]["resources"]["limits"]]
    assert len(gpu_groups) == 1
    group = gpu_groups[0]
    pod = group["template"]["spec"]
    assert group["minReplicas"] == 0
    assert pod["containers"][0]["image"] == f"rayproject/ray:{RAY_VERSION}-py311-gpu"
    assert pod.get("nodeSelector"), "GPU workers must select GPU nodes"
    head = spec["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in head["resources"]["limits"], "the head stays on CPU"
    assert head["image"] == f"rayproject/ray:{RAY_VERSION}-py311"


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_cpu_overlays_ask_for_no_gpu(overlays: dict[str, Bundle], name: str):
    assert "nvidia.com/gpu" not in overlays[name].text.replace("nvidia.com/gpu.present", "")


def test_dev_is_small_and_has_no_ingress(overlays: dict[str, Bundle]):
    dev = overlays["dev"]
    spec = dev.one("RayCluster", "raycluster-kuberay")["spec"]
    assert not dev.of_kind("Ingress")
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] <= 60
    assert [(g["minReplicas"], g["maxReplicas"]) for g in spec["workerGroupSpecs"]] == [(0, 2)]
    assert not spec.get("gcsFaultToleranceOptions")


def test_prod_has_fault_tolerance_with_a_secret_reference(overlays: dict[str, Bundle]):
    cluster = overlays["prod"].one("RayCluster", "raycluster-kuberay")
    options = cluster["spec"]["gcsFaultToleranceOptions"]
    assert options["redisAddress"]
    assert options["redisPassword"]["valueFrom"]["secretKeyRef"]["name"]
    # KubeRay rejects the legacy annotation together with gcsFaultToleranceOptions.
    assert "ray.io/ft-enabled" not in cluster["metadata"].get("annotations", {})


def test_prod_budgets_cover_head_and_workers(overlays: dict[str, Bundle]):
    prod = overlays["prod"]
    pods = main_cluster_pods(prod)
    budgets = prod.of_kind("PodDisruptionBudget")
    for pod in pods:
        covering = [b for b in budgets if labels_match(b["spec"]["selector"]["matchLabels"], pod)]
        assert len(covering) == 1, f"{pod['ray.io/group']}: covered by {len(covering)} PodDisruptionBudgets"
    head_budget = next(b for b in budgets if labels_match(b["spec"]["selector"]["matchLabels"], pods[0]))
    assert head_budget["spec"].get("maxUnavailable") == 0, "voluntary disruptions must not evict the head"


def test_prod_uses_a_priority_class_and_spreads_workers(overlays: dict[str, Bundle]):
    prod = overlays["prod"]
    spec = prod.one("RayCluster", "raycluster-kuberay")["spec"]
    templates = [spec["headGroupSpec"]["template"]["spec"], *(g["template"]["spec"] for g in spec["workerGroupSpecs"])]
    assert all(t.get("priorityClassName") == "ray-high-priority" for t in templates)
    for group in spec["workerGroupSpecs"]:
        constraints = group["template"]["spec"]["topologySpreadConstraints"]
        pod = kuberay_pod_labels("raycluster-kuberay", "worker", group["groupName"], {})
        assert any(c["topologyKey"] == "kubernetes.io/hostname" and labels_match(c["labelSelector"]["matchLabels"], pod) for c in constraints)

    def head_memory(bundle: Bundle) -> str:
        cluster = bundle.one("RayCluster", "raycluster-kuberay")
        return cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]

    assert head_memory(prod) == "16Gi" and head_memory(overlays["dev"]) == "2Gi"


def test_every_ingress_requires_authentication(overlay: Bundle):
    for ingress in overlay.of_kind("Ingress"):
        name = ingress["metadata"]["name"]
        annotations = ingress["metadata"].get("annotations", {})
        assert ingress["spec"].get("ingressClassName"), f"Ingress/{name}: no ingressClassName"
        assert "kubernetes.io/ingress.class" not in annotations, f"Ingress/{name}: deprecated class annotation"
        assert annotations.get("nginx.ingress.kubernetes.io/auth-url", "").startswith(("http://", "https://")), (
            f"Ingress/{name}: reachable without authentication"
        )
        assert annotations.get("nginx.ingress.kubernetes.io/auth-signin"), f"Ingress/{name}: no sign-in redirect"


def test_ingress_backends_expose_no_control_port(overlay: Bundle):
    services = {s["metadata"]["name"]: s for s in overlay.of_kind("Service")}
    for ingress in overlay.of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = services[backend["name"]]
                ports = {p["port"] for p in service["spec"]["ports"]}
                assert not ports & CONTROL_PORTS, f"Service/{backend['name']} behind an Ingress exposes {ports & CONTROL_PORTS}"


def test_every_ingress_terminates_tls_and_redirects_http(overlay: Bundle):
    for ingress in overlay.of_kind("Ingress"):
        name = ingress["metadata"]["name"]
        hosts = {h for tls in ingress["spec"].get("tls", []) for h in tls.get("hosts", [])}
        assert hosts and all(tls.get("secretName") for tls in ingress["spec"]["tls"]), f"Ingress/{name}: no TLS"
        assert {rule["host"] for rule in ingress["spec"]["rules"]} <= hosts, f"Ingress/{name}: a host without TLS"
        assert ingress["metadata"]["annotations"].get("nginx.ingress.kubernetes.io/ssl-redirect") == "true", (
            f"Ingress/{name}: plain HTTP is served, not redirected"
        )


def admitted(bundle: Bundle, pod_labels: dict[str, str], port: int) -> list[str]:
    """Who may connect to `port` of a pod with these labels: 'namespace', 'ray-pods' or 'ns:<name>'."""
    policies = [p for p in bundle.of_kind("NetworkPolicy") if labels_match(p["spec"]["podSelector"].get("matchLabels", {}), pod_labels)]
    peers = []
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            if ports and port not in ports:
                continue
            if not rule.get("from"):
                peers.append("anyone")
            for peer in rule.get("from", []):
                if "namespaceSelector" in peer:
                    peers.append("ns:" + peer["namespaceSelector"].get("matchLabels", {}).get("kubernetes.io/metadata.name", "*"))
                elif peer.get("podSelector") == {}:
                    peers.append("namespace")
                else:
                    peers.append("pods:" + ",".join(f"{k}={v}" for k, v in sorted(peer["podSelector"]["matchLabels"].items())))
                if "ipBlock" in peer:
                    peers.append("ip:" + peer["ipBlock"]["cidr"])
    return sorted(set(peers))


def test_network_policies_keep_control_ports_inside(overlay: Bundle):
    deny_all = [p for p in overlay.of_kind("NetworkPolicy") if p["spec"]["podSelector"] == {} and not p["spec"].get("ingress")]
    assert deny_all, "no default-deny ingress policy"
    head = main_cluster_pods(overlay)[0]
    for port in CONTROL_PORTS:
        outsiders = [p for p in admitted(overlay, head, port) if p.startswith(("ns:", "ip:", "anyone"))]
        assert not outsiders, f"port {port} of the head is open to {outsiders}"
    dashboard_peers = admitted(overlay, head, DASHBOARD_PORT)
    allowed_outside = {"ns:kuberay-system"} | ({"ns:ingress-nginx"} if overlay.of_kind("Ingress") else set())
    assert {p for p in dashboard_peers if p.startswith("ns:")} == allowed_outside
    assert "ns:monitoring" in admitted(overlay, head, 8080)


def test_prod_keeps_gcs_and_client_to_ray_pods(overlays: dict[str, Bundle]):
    head = main_cluster_pods(overlays["prod"])[0]
    for port in CONTROL_PORTS:
        assert admitted(overlays["prod"], head, port) == ["pods:ray.io/is-ray-node=yes"]
    assert "namespace" in admitted(overlays["prod"], head, DASHBOARD_PORT), "RayJob submitters reach the dashboard"


def test_services_select_the_main_cluster_and_existing_ports(overlay: Bundle):
    pods = main_cluster_pods(overlay)
    head_ports = {p["name"] for p in overlay.one("RayCluster", "raycluster-kuberay")["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"]}
    for name in ("raycluster-kuberay-dashboard", "raycluster-kuberay-serve"):
        service = overlay.one("Service", name)
        assert labels_match(service["spec"]["selector"], pods[0]), f"Service/{name} selects no head pod"
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in head_ports, f"Service/{name}: port {port['targetPort']} not on the head"


def test_monitors_scrape_ports_the_ray_containers_declare(monitored_overlay: Bundle):
    overlay = monitored_overlay
    pods = main_cluster_pods(overlay)
    spec = overlay.one("RayCluster", "raycluster-kuberay")["spec"]
    # KubeRay adds port `metrics` (8080) to a Ray container that declares none (pod.go, v1.7.0).
    def pod_ports(template: dict) -> set[str]:
        return {"metrics"} | {p["name"] for p in template["spec"]["containers"][0].get("ports", [])}

    ports_by_type = {
        "head": pod_ports(spec["headGroupSpec"]["template"]),
        "worker": set.intersection(*(pod_ports(g["template"]) for g in spec["workerGroupSpecs"])),
    }
    head_monitor = overlay.one("PodMonitor", "ray-head-monitor")
    pod_monitor = overlay.one("PodMonitor", "ray-workers-monitor")
    assert labels_match(head_monitor["spec"]["selector"]["matchLabels"], pods[0])
    assert all(labels_match(pod_monitor["spec"]["selector"]["matchLabels"], pod) for pod in pods[1:])
    assert {e["port"] for e in head_monitor["spec"]["podMetricsEndpoints"]} == {"metrics", "as-metrics", "dash-metrics"} <= ports_by_type["head"]
    assert {e["port"] for e in pod_monitor["spec"]["podMetricsEndpoints"]} <= ports_by_type["worker"]
    for endpoint in [*head_monitor["spec"]["podMetricsEndpoints"], *pod_monitor["spec"]["podMetricsEndpoints"]]:
        targets = {r["targetLabel"] for r in endpoint.get("relabelings", [])}
        assert "ray_io_cluster" in targets, f"{endpoint['port']}: alerts could not name the cluster"


def test_every_ray_pod_is_scraped_once(monitored_overlay: Bundle):
    overlay = monitored_overlay
    """Scraped as pods, never through Services: KubeRay labels every head Service (and a RayService has
    two for its head) with ray.io/node-type, so a ServiceMonitor on that label counted heads twice."""
    assert not overlay.of_kind("ServiceMonitor")
    monitors = overlay.of_kind("PodMonitor")
    for template in overlay.pod_templates():
        if not template.is_ray_node:
            continue
        labels = {"ray.io/node-type": template.node_type, "ray.io/is-ray-node": "yes"}
        matching = [m["metadata"]["name"] for m in monitors if labels_match(m["spec"]["selector"]["matchLabels"], labels)]
        assert len(matching) == 1, f"{template.where}: scraped by {matching}"


def test_dev_runs_without_the_prometheus_operator(overlays):
    groups = {doc["apiVersion"].split("/")[0] for doc in overlays["dev"].documents}
    assert "monitoring.coreos.com" not in groups, "kind and minikube have no Prometheus Operator CRDs"


@pytest.mark.parametrize("name", OVERLAYS)
def test_overlay_folders_hold_only_a_kustomization_its_patches_and_values(repo_root, name: str):
    import yaml

    folder = repo_root / "overlays" / name
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    patch_files = {p["path"] for p in kustomization.get("patches", []) if "path" in p}
    local = [entry for entry in kustomization.get("resources", []) if not entry.startswith("../../")]
    for entry in local:  # values the replacements read, never applied
        for document in yaml.safe_load_all((folder / entry).read_text()):
            annotations = document["metadata"].get("annotations", {})
            assert annotations.get("config.kubernetes.io/local-config") == "true", f"overlays/{name}/{entry} would be applied"
    files = {p.name for p in folder.iterdir() if p.is_file()}
    assert files == {"kustomization.yaml", *patch_files, *local}, f"overlays/{name} holds files that are not patches"
    for entry in kustomization.get("components", []):
        assert entry.startswith("../../"), f"overlays/{name}: {entry} is not a shared component"


def test_no_yaml_is_copied_between_overlays(repo_root):
    seen: dict[str, str] = {}
    for name in OVERLAYS:
        for path in (repo_root / "overlays" / name).iterdir():
            if path.name == "kustomization.yaml":
                continue
            body = "\n".join(line.strip() for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#"))
            assert body not in seen, f"overlays/{name}/{path.name} repeats {seen[body]}"
            seen[body] = f"overlays/{name}/{path.name}"


def test_gpu_overlay_jobs_train_on_gpus(overlays: dict[str, Bundle]):
    gpu = overlays["gpu"]
    gpu_jobs = [job for job in gpu.of_kind("RayJob") if "--use-gpu" in job["spec"]["entrypoint"]]
    assert gpu_jobs, "no RayJob of the gpu overlay asks Ray Train for GPUs"
    for job in gpu_jobs:
        groups = job["spec"]["rayClusterSpec"]["workerGroupSpecs"]
        limits = [c.get("resources", {}).get("limits", {}) for g in groups for c in g["template"]["spec"]["containers"]]
        assert any("nvidia.com/gpu" in limit for limit in limits), f"RayJob/{job['metadata']['name']} has no GPU workers"


LIST_INDEX = re.compile(r"(^|[./])\d+([./]|$)")


def test_no_kustomization_patches_or_replaces_by_list_index(repo_root):
    """A path by list index silently misses the group (or rule) a component adds; name it or use `*`."""
    import yaml

    problems = []
    for kustomization in sorted(repo_root.glob("**/kustomization.yaml")):
        if ".venv" in kustomization.parts:
            continue
        folder = kustomization.parent
        spec = yaml.safe_load(kustomization.read_text())
        where = kustomization.relative_to(repo_root)
        for replacement in spec.get("replacements", []):
            for target in replacement["targets"]:
                problems += [f"{where}: replacement into {p}" for p in target["fieldPaths"] if LIST_INDEX.search(p)]
        for patch in spec.get("patches", []):
            text = patch.get("patch") or (folder / patch["path"]).read_text()
            for document in yaml.safe_load_all(text):
                operations = document if isinstance(document, list) else []
                problems += [f"{where}: JSON patch of {op['path']}" for op in operations if LIST_INDEX.search(op["path"])]
    assert not problems, "\n".join(problems)


def test_monitoring_is_in_exactly_the_overlays_that_compose_it(overlays: dict[str, Bundle]):
    for name, bundle in overlays.items():
        composed = "components/monitoring" in (REPO_ROOT / "overlays" / name / "kustomization.yaml").read_text()
        assert composed == (name in MONITORED_OVERLAYS)
        assert bool(bundle.of_kind("PodMonitor")) == composed, f"overlays/{name}: PodMonitors do not follow the component"
