"""Effects: for each changed resource, what the operator and Argo CD will do, in one line a reviewer reads.

Every effect has a stable id (what `--fail-on` names) and a severity: info (it
happens as intended), warning (the change does not do what it seems to, or costs
capacity), danger (something running is lost or deleted).
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field
from typing import Any

import yaml

from .argocd import SyncPolicy
from .capacity import Resources, workload_of
from .kuberay import (
    ClusterChange,
    added_groups,
    appended_groups,
    compare_clusters,
    raycluster_recreates,
    rayservice_zero_downtime,
    scaling_changes,
    upgrade_type,
)
from .pairing import Pair, describe_paths


class Level(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    DANGER = "danger"

    def __str__(self) -> str:
        return self.value


# Every id `raygitops diff` reports, with what it means (the list `--fail-on` accepts).
EFFECTS: dict[str, str] = {
    "raycluster-pods-recreated": "RayCluster with upgradeStrategy Recreate: every pod is deleted and recreated.",
    "raycluster-change-not-applied": "RayCluster without Recreate: running pods keep the old spec.",
    "raycluster-scaled": "Worker replicas, minReplicas or maxReplicas changed, or worker groups added.",
    "rayservice-new-cluster": "RayService builds a second cluster and switches traffic to it (peak: both clusters).",
    "rayservice-updated-in-place": "RayService adds worker groups to its running cluster in place.",
    "rayservice-change-not-applied": "RayService keeps its running cluster as it is despite the change.",
    "rayservice-serve-config-updated": "Serve applications are updated in place.",
    "rayjob-not-rerun": "A changed RayJob is not run again.",
    "rayjob-new-run": "A new RayJob: KubeRay starts a cluster and runs it.",
    "resource-added": "A new resource is created.",
    "resource-updated": "A resource is updated in place.",
    "resource-deleted": "A resource removed from the target is pruned by Argo CD.",
    "generated-name-changed": "A generated ConfigMap or Secret changed content, hence name.",
    "field-ignored-by-argocd": "A change only in fields Argo CD's ignoreDifferences hides: never synced.",
    "capacity-changed": "What a Ray cluster needs at full scale changed.",
}

_RAY_GROUP = "ray.io"
_PERSISTENT_KINDS = frozenset({"PersistentVolumeClaim", "Namespace"})


@dataclass(frozen=True)
class Effect:
    id: str
    level: Level
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "severity": self.level.value, "message": self.message}


@dataclass
class Change:
    pair: Pair
    effects: list[Effect] = field(default_factory=list)
    peak_extra: Resources = field(
        default_factory=Resources
    )  # what runs in addition while a RayService switches clusters

    @property
    def document(self) -> Any:
        return self.pair.new if self.pair.new is not None else self.pair.old

    def to_dict(self) -> dict[str, Any]:
        document = self.document
        return {
            "apiVersion": document.api_version,
            "kind": document.kind,
            "namespace": document.namespace,
            "name": document.name,
            "change": self.pair.change,
            "effects": [e.to_dict() for e in self.effects],
        }


def assess(pair: Pair, policy: SyncPolicy | None) -> Change:
    change = Change(pair)
    if pair.old is None:
        change.effects.extend(_added(pair))
    elif pair.new is None:
        change.effects.append(_deleted(pair, policy))
    else:
        _modified(change, policy)
    _capacity(change)
    if not change.effects:  # e.g. "1" -> 1: a different text the operator reads as the same value
        change.effects.append(
            Effect("resource-updated", Level.INFO, f"updated in place: {describe_paths(pair.changed)}")
        )
    return change


def _added(pair: Pair) -> list[Effect]:
    assert pair.new is not None
    workload = workload_of(pair.new.body)
    if pair.key.kind == "RayJob":
        size = f" on a new cluster of {workload.resources.describe()}" if workload else " on an existing cluster"
        return [Effect("rayjob-new-run", Level.INFO, f"new RayJob: KubeRay runs its entrypoint{size}")]
    if workload is not None:
        return [
            Effect(
                "resource-added",
                Level.INFO,
                f"new {pair.key.kind}: KubeRay creates a cluster of {workload.resources.describe()} at full scale",
            )
        ]
    return [Effect("resource-added", Level.INFO, f"new {pair.key.kind}")]


def _deleted(pair: Pair, policy: SyncPolicy | None) -> Effect:
    how = (
        "Argo CD prunes it from the cluster"
        if policy is None or policy.prune
        else ("Argo CD shows it out of sync (no automated prune); a manual prune deletes it")
    )
    kind = pair.key.kind
    if pair.key.group == _RAY_GROUP:
        lost = {"RayJob": "a running job is stopped and its cluster deleted"}.get(
            kind, "its cluster is deleted with every running job, actor and Serve application"
        )
        return Effect("resource-deleted", Level.DANGER, f"{kind} removed: {how}; {lost}")
    if kind == "PersistentVolumeClaim":
        return Effect(
            "resource-deleted",
            Level.DANGER,
            f"PersistentVolumeClaim removed: {how}; its volume and data go with it unless the reclaim policy is Retain",
        )
    if kind == "Namespace":
        return Effect("resource-deleted", Level.DANGER, f"Namespace removed: {how}, and with it everything in it")
    return Effect("resource-deleted", Level.WARNING, f"{kind} removed: {how}")


def _modified(change: Change, policy: SyncPolicy | None) -> None:
    pair = change.pair
    assert pair.old is not None and pair.new is not None
    key = pair.key
    hidden = [
        p
        for p in pair.changed
        if policy is not None and policy.ignored(key.group, key.kind, key.namespace, key.name, p)
    ]
    if hidden:
        assert policy is not None
        where = f" of {policy.application}" if policy.application else ""
        if policy.respect_ignore:
            fate = "this part of the change never reaches the cluster (RespectIgnoreDifferences)"
        elif policy.out_of_sync_only:
            fate = "it shows no drift and is applied only when another change to this resource is synced (ApplyOutOfSyncOnly)"
        else:
            fate = "it shows no drift, and reaches the cluster only with a sync that another change triggers"
        change.effects.append(
            Effect(
                "field-ignored-by-argocd",
                Level.WARNING,
                f"Argo CD ignores {describe_paths(hidden)} (ignoreDifferences{where}): {fate}",
            )
        )
    visible = [p for p in pair.changed if p not in hidden]
    if not visible:
        return
    if pair.change == "renamed":
        change.effects.append(
            Effect(
                "generated-name-changed",
                Level.INFO,
                f"content changed, so the generated name changes ({pair.old.name} -> {pair.new.name}); "
                "every pod template that mounts it changes with it",
            )
        )
        return
    old_body, new_body = _without(pair.old.body, hidden), _without(pair.new.body, hidden)
    if key.group == _RAY_GROUP and key.kind == "RayCluster":
        _raycluster(change, old_body, new_body, visible)
    elif key.group == _RAY_GROUP and key.kind == "RayService":
        _rayservice(change, old_body, new_body, visible)
    elif key.group == _RAY_GROUP and key.kind == "RayJob":
        change.effects.append(
            Effect(
                "rayjob-not-rerun",
                Level.WARNING,
                f"{describe_paths(visible)} changed, but KubeRay does not run a RayJob again once it has run and "
                "Argo CD only updates the object: rename the RayJob to run the new version",
            )
        )
    else:
        change.effects.append(Effect("resource-updated", Level.INFO, f"updated in place: {describe_paths(visible)}"))


def _without(body: dict[str, Any], paths: list[tuple[str | int, ...]]) -> dict[str, Any]:
    """The body with the Argo CD-ignored leaves put back to nothing, so they do not count as a change."""
    if not paths:
        return body
    body = copy.deepcopy(body)
    for path in paths:
        parent: Any = body
        for step in path[:-1]:
            if isinstance(parent, dict):
                parent = parent.get(step)
            elif isinstance(parent, list) and isinstance(step, int) and step < len(parent):
                parent = parent[step]
            else:
                parent = None
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return body


def _spec(body: dict[str, Any]) -> dict[str, Any]:
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def _raycluster(change: Change, old: dict[str, Any], new: dict[str, Any], visible: list[tuple[str | int, ...]]) -> None:
    old_spec, new_spec = _spec(old), _spec(new)
    verdict = compare_clusters(old_spec, new_spec, rayservice=False)
    scaled = scaling_changes(old_spec, new_spec)
    added = added_groups(old_spec, new_spec)
    spec_paths = describe_paths([p for p in visible if p[:1] == ("spec",)])
    if verdict in (ClusterChange.REBUILD, ClusterChange.GROUPS_APPENDED) and raycluster_recreates(new_spec):
        change.effects.append(
            Effect(
                "raycluster-pods-recreated",
                Level.DANGER,
                f"{spec_paths} changed and upgradeStrategy is Recreate: KubeRay deletes every pod of the cluster and "
                "starts new ones; running jobs, actors and Serve applications on it are lost",
            )
        )
    elif verdict is ClusterChange.REBUILD:
        change.effects.append(
            Effect(
                "raycluster-change-not-applied",
                Level.WARNING,
                f"{spec_paths} changed, but without upgradeStrategy Recreate KubeRay does not touch running pods: "
                "only pods created later (a scale-up) get it, the head keeps the old spec until it is deleted",
            )
        )
    elif verdict is ClusterChange.MUTED_ONLY and (muted := [p for p in visible if _muted_not_scaling(p)]):
        change.effects.append(
            Effect(
                "raycluster-change-not-applied",
                Level.WARNING,
                f"{describe_paths(muted)} changed, but KubeRay leaves it out of the cluster hash: running pods keep "
                "the old value, only pods created later get it",
            )
        )
    if added:
        change.effects.append(Effect("raycluster-scaled", Level.INFO, f"worker group {', '.join(added)} added"))
    if scaled:
        change.effects.append(Effect("raycluster-scaled", Level.INFO, "; ".join(scaled)))
    _other_fields(change, visible)


def _muted_not_scaling(path: tuple[str | int, ...]) -> bool:
    """A spec field KubeRay's hash leaves out that is not a replica count or the strategy itself."""
    if path[:1] != ("spec",) or path[1:2] == ("upgradeStrategy",):
        return False
    return not (
        len(path) >= 4 and path[1] == "workerGroupSpecs" and path[3] in ("replicas", "minReplicas", "maxReplicas")
    )


def _rayservice(change: Change, old: dict[str, Any], new: dict[str, Any], visible: list[tuple[str | int, ...]]) -> None:
    old_spec, new_spec = _spec(old), _spec(new)
    old_cluster, new_cluster = _dict(old_spec.get("rayClusterConfig")), _dict(new_spec.get("rayClusterConfig"))
    verdict = compare_clusters(old_cluster, new_cluster, rayservice=True)
    cluster_paths = describe_paths([p for p in visible if p[:2] == ("spec", "rayClusterConfig")])
    new_cluster_built = False
    if verdict is ClusterChange.MUTED_ONLY:
        change.effects.append(
            Effect(
                "rayservice-change-not-applied",
                Level.WARNING,
                f"{cluster_paths} changed, but KubeRay leaves these fields out of the cluster hash and keeps the running "
                "cluster as it is; they take effect only when a later change builds a new cluster",
            )
        )
    elif verdict is ClusterChange.GROUPS_APPENDED:
        change.effects.append(
            Effect(
                "rayservice-updated-in-place",
                Level.INFO,
                f"worker group {', '.join(appended_groups(old_cluster, new_cluster))} added to the running cluster in place "
                "(no new cluster, no traffic switch)",
            )
        )
    elif verdict is ClusterChange.REBUILD and rayservice_zero_downtime(new_spec):
        new_cluster_built = True
        workload = workload_of(new)
        change.peak_extra = workload.resources if workload else Resources()
        gpus = change.peak_extra.gpu > 0
        strategy = upgrade_type(new_spec) or "NewCluster (default)"
        change.effects.append(
            Effect(
                "rayservice-new-cluster",
                Level.DANGER if gpus else Level.WARNING,
                f"{cluster_paths} changed: KubeRay builds a second cluster ({strategy}) and switches traffic when it is "
                f"ready; peak extra {change.peak_extra.describe()} while both run, and the upgrade waits if the nodes "
                "cannot hold both",
            )
        )
    elif verdict is ClusterChange.REBUILD:
        change.effects.append(
            Effect(
                "rayservice-change-not-applied",
                Level.WARNING,
                f"{cluster_paths} changed, but upgradeStrategy is {upgrade_type(new_spec)}: KubeRay neither updates the "
                "running cluster nor builds a new one",
            )
        )
    if old_spec.get("serveConfigV2") != new_spec.get("serveConfigV2"):
        where = "on the new cluster" if new_cluster_built else "in place on the running cluster"
        change.effects.append(
            Effect(
                "rayservice-serve-config-updated",
                Level.INFO,
                f"Serve applications {serve_app_changes(old_spec.get('serveConfigV2'), new_spec.get('serveConfigV2'))} "
                f"updated {where}",
            )
        )
    _other_fields(
        change, [p for p in visible if p[:2] not in (("spec", "rayClusterConfig"), ("spec", "serveConfigV2"))]
    )


def _other_fields(change: Change, visible: list[tuple[str | int, ...]]) -> None:
    """Fields outside what KubeRay reconciles into pods: RayService settings, labels, annotations."""
    rest = [p for p in visible if p[:1] != ("spec",) or change.pair.key.kind == "RayService"]
    if rest:
        change.effects.append(Effect("resource-updated", Level.INFO, f"updated in place: {describe_paths(rest)}"))


def serve_app_changes(old: Any, new: Any) -> str:
    """`changed: diabetes; added: iris`, comparing serveConfigV2 applications by name."""
    before, after = _applications(old), _applications(new)
    if before is None or after is None:
        return "(serveConfigV2 is not a YAML mapping of applications)"
    parts = []
    for label, names in (
        ("changed", [n for n in after if n in before and after[n] != before[n]]),
        ("added", [n for n in after if n not in before]),
        ("removed", [n for n in before if n not in after]),
    ):
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    return "; ".join(parts) or "(only settings outside the applications)"


def _applications(config: Any) -> dict[str, Any] | None:
    if config is None:
        return {}
    try:
        data = yaml.safe_load(config) if isinstance(config, str) else config
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    apps = data.get("applications")
    return {str(a.get("name", "")): a for a in apps if isinstance(a, dict)} if isinstance(apps, list) else {}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _capacity(change: Change) -> None:
    old = workload_of(change.pair.old.body) if change.pair.old is not None else None
    new = workload_of(change.pair.new.body) if change.pair.new is not None else None
    if old is None or new is None or old.resources == new.resources:
        return
    more_gpus = new.resources.gpu > old.resources.gpu
    change.effects.append(
        Effect(
            "capacity-changed",
            Level.WARNING if more_gpus else Level.INFO,
            f"at full scale {old.resources.describe()} -> {new.resources.describe()}",
        )
    )
