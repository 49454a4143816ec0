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
        (namespace,) = overlays[name].of_kind("Namespace")
        assert destination == namespace["metadata"]["name"], f"overlays/{name} renders into another namespace"
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


def test_project_allows_what_the_applications_deploy(argocd: Bundle, application_set):
    from fnmatch import fnmatch

    project = argocd.one("AppProject", "raygitops")["spec"]
    applications = [a for a in argocd.of_kind("Application") if a["spec"]["project"] == "raygitops"]
    sources = [a["spec"]["source"] for a in applications] + [application_set["spec"]["template"]["spec"]["source"]]
    for source in sources:
        assert source["repoURL"] in project["sourceRepos"], source["repoURL"]
    namespaces = [a["spec"]["destination"]["namespace"] for a in applications]
    namespaces += [render_template(application_set["spec"]["template"]["spec"]["destination"]["namespace"], o) for o in OVERLAYS]
    for namespace in namespaces:
        assert any(fnmatch(namespace, d["namespace"]) for d in project["destinations"]), namespace
    allowed_kinds = {(k["group"], k["kind"]) for k in project["clusterResourceWhitelist"]}
    assert {("", "Namespace"), ("apiextensions.k8s.io", "CustomResourceDefinition"), ("scheduling.k8s.io", "PriorityClass")} <= allowed_kinds


def test_repository_is_filled_in_everywhere(argocd: Bundle):
    assert "REPLACED-BY-KUSTOMIZE" not in argocd.text
    assert not argocd.of_kind("ConfigMap") or all(c["metadata"]["name"] == "argocd-cm" for c in argocd.of_kind("ConfigMap"))
    assert all(doc["metadata"].get("namespace") == "argocd" for doc in argocd.documents)


def test_health_checks_cover_every_ray_kind(argocd: Bundle):
    data = argocd.one("ConfigMap", "argocd-cm")["data"]
    for kind in ("RayCluster", "RayJob", "RayService"):
        assert f"resource.customizations.health.ray.io_{kind}" in data
