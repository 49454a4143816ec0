"""Argo CD over time: traps that pass the first sync and bite on a later commit.

What Argo CD v3.5.1 does with these settings is read from its source (controller/sync.go,
gitops-engine/pkg/sync) and KubeRay v1.7.0's (rayjob_controller.go, rayservice_controller.go);
docs/deploy.md explains the behaviour for this repository's own manifests. Each rule reads only
the documents it is given and the bundle they were rendered with.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...findings import Severity
from ...inputs.documents import Document
from . import REFERENCE, SAFETY, Bundle, Problem, rule
from ._access import dig, mapping, sequence, text
from ._ray import cluster_spec

APP_KINDS = ("Application", "ApplicationSet")
SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"

# API groups of client-go's scheme, the kinds Argo CD can strategic-merge (built-ins). A kind outside
# them gets a JSON merge patch in normalizeTargetResources, where an array is one value.
BUILT_IN_GROUPS = frozenset(
    {
        "",
        "core",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "resource.k8s.io",
        "storagemigration.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "internal.apiserver.k8s.io",
    }
)
_JQ_INTO_ARRAY = re.compile(r"\[[^\]]*\]\s*\.|\[\]|\|")  # `.a[].b`, `.a[0].b`, `.a[] | select(...)`


def _application_spec(document: Document) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The Application spec an Application holds, or the one an ApplicationSet's template stamps out."""
    if document.kind == "ApplicationSet":
        return mapping(dig(document.spec, "template", "spec")), ("spec", "template", "spec")
    return document.spec, ("spec",)


def _sync_options(spec: dict[str, Any]) -> list[str]:
    return [text(option) for option in sequence(dig(spec, "syncPolicy", "syncOptions"))]


def _resource_sync_options(document: Document) -> set[str]:
    value = text(document.annotations.get(SYNC_OPTIONS_ANNOTATION))
    return {option.strip() for option in value.split(",") if option.strip()}


def _array_paths(entry: dict[str, Any]) -> Iterator[tuple[str, int, str]]:
    """(field, index, path) of each ignored path that reaches inside an array element."""
    for index, expression in enumerate(sequence(entry.get("jqPathExpressions"))):
        if _JQ_INTO_ARRAY.search(text(expression)):
            yield "jqPathExpressions", index, text(expression)
    for index, pointer in enumerate(sequence(entry.get("jsonPointers"))):
        parts = text(pointer).strip("/").split("/")
        if any(part.isdigit() or part == "-" for part in parts[:-1]):
            yield "jsonPointers", index, text(pointer)


@rule("argocd-respect-ignore-in-array", kinds=APP_KINDS, category=REFERENCE)
def respect_ignore_in_array(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """RespectIgnoreDifferences=true is not combined with an ignored path inside an array of a custom resource.

    Why: to keep an ignored field, Argo CD copies its live value into what it applies
    (controller/sync.go normalizeTargetResources). For a custom resource that copy is a JSON merge
    patch, in which an array is one value: the whole live array replaces Git's, so no Git change
    anywhere inside that array is ever applied and the Application stays OutOfSync (argo-cd issue
    17694; PR 17693 fixed built-in kinds only). For a RayCluster's workerGroupSpecs that means a Ray
    upgrade reaches the head and never the workers.

    Fails:
        spec:
          ignoreDifferences:
            - {group: ray.io, kind: RayCluster, jqPathExpressions: [".spec.workerGroupSpecs[].replicas"]}
          syncPolicy: {syncOptions: [RespectIgnoreDifferences=true]}

    Instead:
        spec:
          ignoreDifferences:
            - {group: ray.io, kind: RayCluster, jqPathExpressions: [".spec.workerGroupSpecs[].replicas"]}
          syncPolicy: {syncOptions: [ApplyOutOfSyncOnly=true]}
    """
    spec, base = _application_spec(document)
    if "RespectIgnoreDifferences=true" not in _sync_options(spec):
        return
    for entry_index, entry in enumerate(sequence(spec.get("ignoreDifferences"))):
        entry = mapping(entry)
        group = text(entry.get("group"))
        if group in BUILT_IN_GROUPS:
            continue
        for field, index, path in _array_paths(entry):
            yield Problem(
                (*base, "ignoreDifferences", entry_index, field, index),
                f"with RespectIgnoreDifferences=true, Argo CD applies the live array holding {path} of {entry.get('kind') or 'every kind'} "
                f"({group}) instead of Git's (argo-cd issue 17694): Git changes inside that array are never applied; "
                "drop RespectIgnoreDifferences=true (the ignore still keeps the field out of the diff)",
            )


def _deletes_resources_with_app(document: Document) -> tuple[tuple[str | int, ...], str] | None:
    """Where an Application or ApplicationSet asks Argo CD to delete what it deployed along with it."""
    if document.kind == "ApplicationSet":
        if dig(document.spec, "syncPolicy", "preserveResourcesOnDeletion") is True:
            return None
        return (
            ("spec", "syncPolicy"),
            "without syncPolicy.preserveResourcesOnDeletion: true, deleting the ApplicationSet (or an Application it generated) deletes",
        )
    finalizers = [text(f) for f in sequence(document.metadata.get("finalizers"))]
    for index, finalizer in enumerate(finalizers):
        if finalizer.startswith(RESOURCES_FINALIZER):
            return ("metadata", "finalizers", index), f"the finalizer {finalizer} makes deleting the Application delete"
    return None


@rule("argocd-deletes-data-with-app", kinds=APP_KINDS, category=REFERENCE)
def deletes_data_with_app(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """An Argo CD app that deletes its resources with itself does not hold a PersistentVolumeClaim or Namespace without Delete=false.

    Why: deleting the Application (by hand, or because its overlay folder was renamed and the
    ApplicationSet removed it) cascades to every resource it deployed. A Namespace takes everything
    in it along, Secrets made by hand included; a PersistentVolumeClaim takes its data (here the
    trained models). Argo CD keeps a resource annotated argocd.argoproj.io/sync-options: Delete=false.

    Fails:
        kind: Application
        metadata: {finalizers: [resources-finalizer.argocd.argoproj.io]}
        ---
        kind: PersistentVolumeClaim
        metadata: {name: ray-model-store}

    Instead:
        kind: PersistentVolumeClaim
        metadata:
          name: ray-model-store
          annotations: {argocd.argoproj.io/sync-options: "Prune=false,Delete=false"}
    """
    cascade = _deletes_resources_with_app(document)
    if cascade is None:
        return
    path, reason = cascade
    held = [
        d
        for d in bundle.of_kind("Namespace", "PersistentVolumeClaim")
        if "Delete=false" not in _resource_sync_options(d)
    ]
    for resource in held:
        yield Problem(
            path,
            f"{reason} {resource.kind}/{resource.name} of this bundle with it; annotate it "
            f"{SYNC_OPTIONS_ANNOTATION}: Delete=false (and Prune=false), or preserve resources on deletion",
        )


def _mounted_config_maps(document: Document) -> dict[str, tuple[str | int, ...]]:
    """ConfigMap name -> path of the first volume that mounts it, over every Ray group of the document."""
    cluster = cluster_spec(document)
    found: dict[str, tuple[str | int, ...]] = {}
    if cluster is None:
        return found
    for group in cluster.groups:
        for index, volume in enumerate(sequence(group.pod_spec.get("volumes"))):
            name = text(dig(volume, "configMap", "name"))
            if name and name not in found:
                found[name] = (*group.pod_path, "volumes", index, "configMap", "name")
    return found


@rule("rayservice-shared-code-configmap", kinds=("RayService",), category=REFERENCE, severity=Severity.WARNING)
def rayservice_shared_code_configmap(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A RayService's cluster does not mount a ConfigMap that other Ray workloads also mount.

    Why: KubeRay hashes the RayService's cluster spec, volumes included, and starts a second full
    cluster (zero-downtime upgrade, twice the resources until it is ready) whenever the hash
    changes. With a generated ConfigMap shared with a RayJob, editing the job's code renames the
    ConfigMap and upgrades the service although nothing it runs changed. Give each workload its own
    ConfigMap with only the files it imports.

    Fails:
        kind: RayService   # volumes: [{name: code, configMap: {name: job-code}}]
        ---
        kind: RayJob       # volumes: [{name: code, configMap: {name: job-code}}]

    Instead:
        kind: RayService   # volumes: [{name: code, configMap: {name: serve-code}}]
        ---
        kind: RayJob       # volumes: [{name: code, configMap: {name: train-code}}]
    """
    mounted = _mounted_config_maps(document)
    if not mounted:
        return
    for other in bundle.of_kind("RayService", "RayJob", "RayCluster", "RayCronJob"):
        if other is document or (other.namespace and document.namespace and other.namespace != document.namespace):
            continue
        for name in mounted.keys() & _mounted_config_maps(other).keys():
            yield Problem(
                mounted[name],
                f"ConfigMap {name} is also mounted by {other.kind}/{other.name}: a change to code only that workload runs "
                "renames or changes it and starts a second serving cluster; give the RayService its own ConfigMap",
            )


def _deletes_itself(job: dict[str, Any]) -> tuple[tuple[str | int, ...], str] | None:
    strategy = mapping(job.get("deletionStrategy"))
    for outcome in ("onSuccess", "onFailure"):
        if text(dig(strategy, outcome, "policy")) == "DeleteSelf":
            return ("spec", "deletionStrategy", outcome, "policy"), outcome
    for index, entry in enumerate(sequence(strategy.get("deletionRules"))):
        if text(dig(entry, "policy")) == "DeleteSelf":
            return ("spec", "deletionStrategy", "deletionRules", index, "policy"), "a deletion rule"
    return None


def _auto_syncing(bundle: Bundle) -> Document | None:
    for app in bundle.of_kind(*APP_KINDS):
        spec, _ = _application_spec(app)
        if isinstance(dig(spec, "syncPolicy", "automated"), dict):
            return app
    return None


@rule("rayjob-deleteself-under-autosync", kinds=("RayJob",), category=REFERENCE)
def rayjob_deleteself_under_autosync(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A RayJob deployed by an auto-syncing Argo CD app does not delete itself (DeleteSelf).

    Why: with DeleteSelf KubeRay deletes the RayJob object when the job ends. Argo CD then sees a
    resource of Git missing from the cluster, and automated sync creates it again: KubeRay runs
    the whole job again, forever. Delete the cluster (DeleteCluster), keep the RayJob; to re-run,
    delete the RayJob by hand.

    Fails:
        kind: RayJob
        spec: {deletionStrategy: {onSuccess: {policy: DeleteSelf}, onFailure: {policy: DeleteCluster}}}
        ---
        kind: Application
        spec: {syncPolicy: {automated: {selfHeal: true}}}

    Instead:
        kind: RayJob
        spec: {deletionStrategy: {onSuccess: {policy: DeleteCluster}, onFailure: {policy: DeleteCluster}}}
    """
    deletes = _deletes_itself(document.spec)
    if deletes is None:
        return
    tracked = (
        any(key.startswith("argocd.argoproj.io/") for key in document.annotations)
        or "app.kubernetes.io/instance" in document.labels
    )
    app = _auto_syncing(bundle)
    if app is None and not tracked:
        return
    path, outcome = deletes
    deployer = f"{app.kind}/{app.name}" if app is not None else "the Argo CD app tracking it"
    yield Problem(
        path,
        f"DeleteSelf on {outcome} deletes the RayJob and {deployer} syncs automatically, so it re-creates it and the job runs again; "
        "use DeleteCluster (the RayJob stays with its final status)",
    )


@rule("rayservice-gcs-fault-tolerance", kinds=("RayService",), category=SAFETY, severity=Severity.WARNING)
def rayservice_gcs_fault_tolerance(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """A RayService's cluster has GCS fault tolerance (an error under --profile prod).

    Why: without it the GCS lives only in the head's memory; when the head pod restarts (node
    drain, OOM, eviction) the cluster loses its Serve applications and KubeRay must bring a new one
    up before the service answers again. With gcsFaultToleranceOptions (external Redis) the workers
    keep serving while the head comes back with its state.

    Fails:
        kind: RayService
        spec: {rayClusterConfig: {headGroupSpec: {...}}}

    Instead:
        kind: RayService
        spec:
          rayClusterConfig:
            gcsFaultToleranceOptions:
              redisAddress: redis.redis.svc.cluster.local:6379
              redisPassword: {valueFrom: {secretKeyRef: {name: redis-password-secret, key: password}}}
    """
    cluster = cluster_spec(document)
    if cluster is None or cluster.ft_enabled:
        return
    yield Problem(
        cluster.path,
        "the RayService's cluster has no gcsFaultToleranceOptions: a head restart stops serving until the cluster is rebuilt; "
        "set gcsFaultToleranceOptions with an external Redis (components/gcs-fault-tolerance)",
    )
