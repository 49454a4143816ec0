"""What survives under Argo CD over time: nothing is deleted that the user did not ask for, and prod
serving is as highly available as the prod cluster."""

from __future__ import annotations

from .bundle import OVERLAYS, Bundle, Doc, labels_match

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"


def sync_options(doc: Doc) -> set[str]:
    value = doc["metadata"].get("annotations", {}).get(SYNC_OPTIONS, "")
    return {option.strip() for option in value.split(",") if option.strip()}


def test_application_set_never_deletes_what_it_deployed(argocd: Bundle):
    (application_set,) = argocd.of_kind("ApplicationSet")
    policy = application_set["spec"]["syncPolicy"]
    # Deleting the ApplicationSet (or one of its Applications) leaves the deployed resources alone.
    assert policy["preserveResourcesOnDeletion"] is True
    # An overlay folder that leaves Git does not delete its Application (and so its namespace).
    assert policy["applicationsSync"] == "create-update"


def test_model_store_is_never_pruned_nor_deleted_with_the_application(overlay: Bundle):
    store = overlay.one("PersistentVolumeClaim", "ray-model-store")
    assert {"Prune=false", "Delete=false"} <= sync_options(store), f"{overlay.path}: PersistentVolumeClaim/ray-model-store"


def test_namespaces_are_never_pruned_nor_deleted_with_the_application():
    """The overlays' namespaces live in cluster-setup/ (the overlays may not create them)."""
    from .conftest import rendered

    namespaces = rendered("cluster-setup").of_kind("Namespace")
    assert {n["metadata"]["name"] for n in namespaces} == {f"ray-{o}" for o in OVERLAYS}
    for namespace in namespaces:
        assert {"Prune=false", "Delete=false"} <= sync_options(namespace), f"Namespace/{namespace['metadata']['name']}"


def test_dev_model_store_binds_on_a_one_node_cluster_without_read_write_many(overlays):
    store = overlays["dev"].one("PersistentVolumeClaim", "ray-model-store")
    assert store["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in store["spec"], "kind and minikube bind through their default class"


# --- prod serving -------------------------------------------------------------------------------------


def test_prod_rayservice_has_gcs_fault_tolerance_on_the_clusters_redis(overlays):
    prod = overlays["prod"]
    service = prod.one("RayService", "diabetes-serve")
    cluster = prod.one("RayCluster", "raycluster-kuberay")
    options = service["spec"]["rayClusterConfig"].get("gcsFaultToleranceOptions")
    assert options and options == cluster["spec"]["gcsFaultToleranceOptions"]
    secret = options["redisPassword"]["valueFrom"]["secretKeyRef"]["name"]
    assert f"Secret/{secret}" in service["metadata"]["annotations"]["raygitops.io/external"]


def _service_pod_labels(service: Doc) -> dict[str, dict[str, str]]:
    """The labels KubeRay gives the RayService's pods: the template's plus ray.io/node-type (labelPod, pod.go)."""
    spec = service["spec"]["rayClusterConfig"]
    groups = {"head": ("head", spec["headGroupSpec"])} | {g["groupName"]: ("worker", g) for g in spec["workerGroupSpecs"]}
    return {
        name: {**group["template"].get("metadata", {}).get("labels", {}), "ray.io/node-type": node_type}
        for name, (node_type, group) in groups.items()
    }


def test_prod_rayservice_cluster_has_disruption_budgets_like_the_prod_cluster(overlays):
    prod = overlays["prod"]
    pods = _service_pod_labels(prod.one("RayService", "diabetes-serve"))
    budgets = {
        name: budget["spec"]
        for budget in prod.of_kind("PodDisruptionBudget")
        for name, labels in pods.items()
        if labels_match(budget["spec"]["selector"]["matchLabels"], labels)
    }
    assert set(budgets) == set(pods), f"pods of the RayService without a PodDisruptionBudget: {set(pods) - set(budgets)}"
    assert budgets["head"] == {**budgets["head"], "maxUnavailable": 0}
    # The budgets must not also cover the RayCluster's pods (one budget per pod, or evictions fail).
    cluster = prod.one("RayCluster", "raycluster-kuberay")
    cluster_head = {**cluster["spec"]["headGroupSpec"]["template"].get("metadata", {}).get("labels", {}),
                    "ray.io/node-type": "head", "ray.io/cluster": "raycluster-kuberay"}
    for budget in prod.of_kind("PodDisruptionBudget"):
        if budget["metadata"]["name"].startswith("diabetes-serve"):
            assert not labels_match(budget["spec"]["selector"]["matchLabels"], cluster_head)
