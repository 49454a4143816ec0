"""KubeRay v1.7.0's decisions on a changed RayCluster or RayService, modelled from its source.

Both controllers compare a hash of the cluster spec with fields muted
(utils.GenerateHashWithoutReplicasAndWorkersToDelete): the worker groups'
replicas, minReplicas, maxReplicas and scaleStrategy.workersToDelete, every pod
template's tolerations and schedulingGates, and upgradeStrategy. The RayService
controller also mutes suspend (rayClusterSpecForHashing).

RayCluster (raycluster_controller.go, shouldRecreatePodsForUpgrade): with
upgradeStrategy.type Recreate, a changed hash deletes every pod; otherwise the
running pods are never touched, and only pods created later (a new worker group,
a scale-up) see the new template.

RayService (rayservice_controller.go, shouldUpdateCluster / shouldPrepareNewCluster):
an equal hash leaves the running RayCluster as it is, even when replicas or
min/max changed; a hash equal once the worker groups appended at the end are
left out updates the cluster in place; any other change builds a new cluster and
moves traffic to it when it is ready, if zero-downtime upgrade is on
(upgradeStrategy.type unset, NewCluster, or NewClusterWithIncrementalUpgrade,
whose feature gate is on by default in v1.7.0); with type None nothing happens.
"""

from __future__ import annotations

import copy
import enum
from typing import Any

from .capacity import parse_quantity

_POD_FIELDS_MUTED = ("tolerations", "schedulingGates")
_WORKER_FIELDS_MUTED = ("replicas", "minReplicas", "maxReplicas")
ZERO_DOWNTIME_TYPES = frozenset({"NewCluster", "NewClusterWithIncrementalUpgrade"})


class ClusterChange(enum.Enum):
    NONE = "none"  # the specs are equal
    MUTED_ONLY = "muted-only"  # only fields the hash leaves out differ
    GROUPS_APPENDED = "groups-appended"  # equal once the worker groups added at the end are left out
    REBUILD = "rebuild"  # the hash differs


def spec_for_hash(cluster_spec: dict[str, Any], *, rayservice: bool) -> dict[str, Any]:
    """The cluster spec with the fields KubeRay leaves out of its hash removed."""
    spec = copy.deepcopy(cluster_spec)
    spec.pop("upgradeStrategy", None)
    if rayservice:
        spec.pop("suspend", None)
    _mute_pod(spec.get("headGroupSpec"))
    groups = spec.get("workerGroupSpecs")
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict):
            continue
        for name in _WORKER_FIELDS_MUTED:
            group.pop(name, None)
        strategy = group.get("scaleStrategy")
        if isinstance(strategy, dict):
            strategy.pop("workersToDelete", None)
        _mute_pod(group)
    return spec


def _mute_pod(group: Any) -> None:
    if not isinstance(group, dict) or not isinstance(group.get("template"), dict):
        return
    pod = group["template"].get("spec")
    if isinstance(pod, dict):
        for name in _POD_FIELDS_MUTED:
            pod.pop(name, None)


def _canonical(value: Any, key: str = "") -> Any:
    """Go's JSON of the spec: empty omitempty fields dropped (`{}` equals absent), quantities by value ("1" equals 1)."""
    if isinstance(value, dict):
        out = {}
        for name, item in value.items():
            item = _canonical(item, str(name))
            if item not in (None, {}, []):
                out[name] = item
        if key in ("requests", "limits"):
            return {k: q if (q := parse_quantity(v)) is not None else v for k, v in out.items()}
        return out
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def _hashed(cluster_spec: dict[str, Any], rayservice: bool) -> Any:
    return _canonical(spec_for_hash(cluster_spec, rayservice=rayservice))


def _groups(cluster_spec: dict[str, Any]) -> list[Any]:
    groups = cluster_spec.get("workerGroupSpecs")
    return groups if isinstance(groups, list) else []


def compare_clusters(old: dict[str, Any], new: dict[str, Any], *, rayservice: bool) -> ClusterChange:
    if _canonical(old) == _canonical(new):
        return ClusterChange.NONE
    if _hashed(old, rayservice) == _hashed(new, rayservice):
        return ClusterChange.MUTED_ONLY
    old_groups, new_groups = _groups(old), _groups(new)
    if len(new_groups) > len(old_groups):
        truncated = dict(new)
        truncated["workerGroupSpecs"] = new_groups[: len(old_groups)]
        if _hashed(old, rayservice) == _hashed(truncated, rayservice):
            return ClusterChange.GROUPS_APPENDED
    return ClusterChange.REBUILD


def appended_groups(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The worker groups after the old count: what the RayService controller compares by position."""
    return [str(g.get("groupName", "?")) for g in _groups(new)[len(_groups(old)) :] if isinstance(g, dict)]


def added_groups(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The worker groups whose name is new: a RayCluster creates their pods wherever they sit in the list."""
    before = {g.get("groupName") for g in _groups(old) if isinstance(g, dict)}
    return [str(g.get("groupName")) for g in _groups(new) if isinstance(g, dict) and g.get("groupName") not in before]


def upgrade_type(spec: dict[str, Any]) -> str | None:
    strategy = spec.get("upgradeStrategy")
    value = strategy.get("type") if isinstance(strategy, dict) else None
    return value if isinstance(value, str) else None


def rayservice_zero_downtime(spec: dict[str, Any]) -> bool:
    """isZeroDowntimeUpgradeEnabled with the operator's defaults (ENABLE_ZERO_DOWNTIME unset)."""
    kind = upgrade_type(spec)
    return kind is None or kind in ZERO_DOWNTIME_TYPES


def raycluster_recreates(spec: dict[str, Any]) -> bool:
    return upgrade_type(spec) == "Recreate"


def scaling_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`cpu-group maxReplicas 4 -> 8` for every worker group present at both revisions."""
    before = {g.get("groupName"): g for g in _groups(old) if isinstance(g, dict)}
    lines: list[str] = []
    for group in _groups(new):
        if not isinstance(group, dict) or group.get("groupName") not in before:
            continue
        previous = before[group.get("groupName")]
        for name in _WORKER_FIELDS_MUTED:
            if previous.get(name) != group.get(name):
                lines.append(f"{group.get('groupName')} {name} {_show(previous.get(name))} -> {_show(group.get(name))}")
    return lines


def _show(value: Any) -> str:
    return "unset" if value is None else str(value)
