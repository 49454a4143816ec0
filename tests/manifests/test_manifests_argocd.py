"""The Argo CD bootstrap (argocd/): operator before Ray resources, one Application per overlay,
and no fight between Argo CD and the Ray autoscaler."""

from __future__ import annotations

import pytest

from .bundle import OVERLAYS, Bundle

KUBERAY_VERSION = "1.7.0"


def wave(doc: dict) -> int:
    return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def render_template(value: str, overlay: str, cluster: str = "in-cluster") -> str:
    """The ApplicationSet parameters the template uses, filled in for one overlay on one cluster."""
    suffix = '{{ if ne .name "in-cluster" }}-{{ .nameNormalized }}{{ end }}'
    value = value.replace(suffix, "" if cluster == "in-cluster" else f"-{cluster}")
    return (value.replace("{{ .path.basename }}", overlay).replace("{{ .path.path }}", f"overlays/{overlay}")
            .replace("{{ .server }}", "https://kubernetes.default.svc"))


@pytest.fixture(scope="module")
def application_set(argocd: Bundle) -> dict:
    (found,) = argocd.of_kind("ApplicationSet")
    return found


def test_application_set_ignores_worker_replicas_of_ray_clusters(application_set):
    spec = application_set["spec"]["template"]["spec"]
    ignored = [
        d for d in spec["ignoreDifferences"]
        if d["group"] == "ray.io" and d["kind"] == "RayCluster" and ".spec.workerGroupSpecs[].replicas" in d.get("jqPathExpressions", [])
    ]
    assert ignored, "Argo CD would reset the replicas the autoscaler sets"
    assert "name" not in ignored[0], "the rule must hold for every RayCluster of every overlay"
    # Respecting the ignore would apply the live worker groups instead of Git's (argo-cd issue 17694);
    # test_manifests_argocd_sync.py replays what each setting does.
    assert "RespectIgnoreDifferences=true" not in spec["syncPolicy"]["syncOptions"]
    assert "ApplyOutOfSyncOnly=true" in spec["syncPolicy"]["syncOptions"]


def test_application_set_generates_one_application_per_overlay_and_labelled_cluster(application_set, argocd, overlays, repo_root):
    (matrix,) = application_set["spec"]["generators"]
    git, clusters = matrix["matrix"]["generators"]
    (pattern,) = git["git"]["directories"]
    folders = sorted(p.name for p in repo_root.glob(pattern["path"]) if p.is_dir())
    assert folders == sorted(OVERLAYS)
    # The cluster Argo CD runs in is registered with a label per overlay it runs: all three by default.
    (local,) = [s for s in argocd.of_kind("Secret") if s["metadata"]["labels"].get("argocd.argoproj.io/secret-type") == "cluster"]
    assert local["stringData"]["server"] == "https://kubernetes.default.svc" and local["stringData"]["name"] == "in-cluster"
    (selector_key, selector_value), = clusters["clusters"]["selector"]["matchLabels"].items()
    for name in OVERLAYS:
        assert local["metadata"]["labels"].get(render_template(selector_key, name)) == selector_value, f"{name} runs nowhere"
    template = application_set["spec"]["template"]
    names = {render_template(template["metadata"]["name"], o) for o in OVERLAYS}
    assert names == {f"ray-{o}" for o in OVERLAYS}, "renaming the Applications would make two own the same resources"
    assert render_template(template["metadata"]["name"], "prod", cluster="eu-1") == "ray-prod-eu-1"
    for name in OVERLAYS:
        destination = render_template(template["spec"]["destination"]["namespace"], name)
        namespaces = {doc["metadata"].get("namespace") for doc in overlays[name].documents}
        assert namespaces == {destination}, f"overlays/{name} renders into another namespace"
        assert render_template(template["spec"]["source"]["path"], name) == f"overlays/{name}"
    assert render_template(template["spec"]["destination"]["server"], "dev") == local["stringData"]["server"]


def test_operator_is_installed_before_the_ray_resources(argocd: Bundle, application_set):
    crds = argocd.one("Application", "kuberay-crds")
    operator = argocd.one("Application", "kuberay-operator")
    assert wave(crds) < wave(operator) < wave(application_set)
    # Three KubeRay CRDs exceed the client-side apply annotation limit.
    options = crds["spec"]["syncPolicy"]["syncOptions"]
    assert "ServerSideApply=true" in options or "Replace=true" in options
    assert crds["spec"]["source"]["repoURL"] == "https://github.com/ray-project/kuberay.git"
    assert crds["spec"]["source"]["targetRevision"] == f"v{KUBERAY_VERSION}"
    chart = operator["spec"]["source"]
    assert (chart["chart"], chart["targetRevision"]) == ("kuberay-operator", KUBERAY_VERSION)
    assert chart["helm"]["skipCrds"] is True
    assert chart["helm"]["valuesObject"]["image"]["tag"] == f"v{KUBERAY_VERSION}"


def test_waves_are_honoured_by_the_root_application(argocd: Bundle):
    root = argocd.one("Application", "raygitops")
    assert root["spec"]["source"]["path"] == "argocd"
    config = argocd.one("ConfigMap", "argocd-cm")
    assert "resource.customizations.health.argoproj.io_Application" in config["data"], (
        "without an Application health check, waves do not wait for the operator"
    )
    assert wave(config) < wave(argocd.one("Application", "kuberay-crds"))


def project(argocd: Bundle, name: str) -> dict:
    return argocd.one("AppProject", name)["spec"]


def kinds(bundle: Bundle) -> set[tuple[str, str]]:
    return {(doc["apiVersion"].rpartition("/")[0], doc["kind"]) for doc in bundle.documents}


def whitelist(spec: dict, field: str) -> set[tuple[str, str]]:
    return {(entry["group"], entry["kind"]) for entry in spec.get(field) or []}


RBAC_KINDS = {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
# What the kuberay-operator chart 1.7.0 installs with its default values (helm-chart/kuberay-operator/templates:
# configuration.enabled and metrics.serviceMonitor.enabled are false), next to KubeRay's CRDs.
KUBERAY_CHART_KINDS = {
    ("apps", "Deployment"), ("", "Service"), ("", "ServiceAccount"),
    ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("", "Namespace"),  # CreateNamespace=true: kuberay-system
}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "PriorityClass", "ClusterRole", "ClusterRoleBinding"}


def test_no_project_uses_a_wildcard(argocd: Bundle):
    for doc in argocd.of_kind("AppProject"):
        spec = doc["spec"]
        values = [*spec["sourceRepos"], *(v for d in spec["destinations"] for v in d.values())]
        for field in ("clusterResourceWhitelist", "namespaceResourceWhitelist"):
            values += [v for entry in spec.get(field) or [] for v in entry.values()]
        wild = [v for v in values if "*" in v or "?" in v or v.startswith("!")]
        assert not wild, f"AppProject/{doc['metadata']['name']}: wildcard {wild}"


def test_overlay_project_allows_only_namespaced_kinds_in_the_overlay_namespaces(argocd: Bundle, overlays, application_set):
    spec = project(argocd, "raygitops")
    assert application_set["spec"]["template"]["spec"]["project"] == "raygitops"
    assert not spec.get("clusterResourceWhitelist"), "overlay Applications may create cluster-scoped objects"
    allowed = whitelist(spec, "namespaceResourceWhitelist")
    assert not {kind for _, kind in allowed} & (RBAC_KINDS | CLUSTER_SCOPED), "overlay Applications may create RBAC"
    rendered = set().union(*(kinds(bundle) for bundle in overlays.values()))
    assert rendered == allowed, f"rendered but not allowed: {rendered - allowed}; allowed but never rendered: {allowed - rendered}"
    destinations = {d["namespace"] for d in spec["destinations"]}
    assert destinations == {render_template(application_set["spec"]["template"]["spec"]["destination"]["namespace"], o) for o in OVERLAYS}
    assert spec["sourceRepos"] == [application_set["spec"]["template"]["spec"]["source"]["repoURL"]]


def test_bootstrap_project_allows_exactly_what_it_installs(argocd: Bundle, application_set):
    from .conftest import rendered

    spec = project(argocd, "raygitops-bootstrap")
    applications = argocd.of_kind("Application")
    assert {a["spec"]["project"] for a in applications} == {"raygitops-bootstrap"}, "the bootstrap runs in its own project"
    installed = kinds(argocd) | kinds(rendered("cluster-setup")) | KUBERAY_CHART_KINDS
    installed |= {("apiextensions.k8s.io", "CustomResourceDefinition")}
    allowed = whitelist(spec, "clusterResourceWhitelist") | whitelist(spec, "namespaceResourceWhitelist")
    assert allowed == installed, f"installed but not allowed: {installed - allowed}; allowed but not installed: {allowed - installed}"
    assert all(kind in CLUSTER_SCOPED for _, kind in whitelist(spec, "clusterResourceWhitelist"))
    assert not {kind for _, kind in whitelist(spec, "namespaceResourceWhitelist")} & CLUSTER_SCOPED
    sources = {a["spec"]["source"]["repoURL"] for a in applications}
    assert sources == set(spec["sourceRepos"])
    destinations = {a["spec"]["destination"]["namespace"] for a in applications}
    assert destinations == {d["namespace"] for d in spec["destinations"]}


def test_argocd_cm_keeps_the_keys_it_does_not_own(argocd: Bundle):
    config = argocd.one("ConfigMap", "argocd-cm")["metadata"]["annotations"]
    options = set(config.get("argocd.argoproj.io/sync-options", "").split(","))
    assert {"Prune=false", "Delete=false", "ServerSideApply=true"} <= options
    assert "ServerSideDiff=true" in config.get("argocd.argoproj.io/compare-options", "")


def test_cluster_setup_creates_each_overlay_namespace_and_what_the_overlays_reference(overlays):
    from .conftest import rendered

    setup = rendered("cluster-setup")
    namespaces = {doc["metadata"]["name"]: doc for doc in setup.of_kind("Namespace")}
    assert set(namespaces) == {f"ray-{name}" for name in OVERLAYS}
    for namespace in namespaces.values():
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    classes = {doc["metadata"]["name"] for doc in setup.of_kind("PriorityClass")}
    for bundle in overlays.values():
        for template in bundle.pod_templates():
            name = template.spec.get("priorityClassName")
            assert name is None or name in classes, f"{bundle.name} {template.where}: PriorityClass {name} is created nowhere"


def test_repository_is_filled_in_everywhere(argocd: Bundle):
    assert "REPLACED-BY-KUSTOMIZE" not in argocd.text
    assert not argocd.of_kind("ConfigMap") or all(c["metadata"]["name"] == "argocd-cm" for c in argocd.of_kind("ConfigMap"))
    assert all(doc["metadata"].get("namespace") == "argocd" for doc in argocd.documents)


def test_health_checks_cover_every_ray_kind(argocd: Bundle):
    data = argocd.one("ConfigMap", "argocd-cm")["data"]
    for kind in ("RayCluster", "RayJob", "RayService"):
        assert f"resource.customizations.health.ray.io_{kind}" in data
