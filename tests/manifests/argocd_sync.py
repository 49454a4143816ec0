"""A replay of what Argo CD v3.5.1 computes when it diffs and syncs one custom resource.

Argo CD's own code is not importable from Python, so this module follows it step by step, for the
case this repository is in: a custom resource (not in client-go's scheme, so every patch is a JSON
merge patch, RFC 7386, where an array is one value), applied client-side (`kubectl apply`, Argo CD's
default), with `ignoreDifferences` given as jq paths. Each function names the source it follows;
paths are in github.com/argoproj/argo-cd at tag v3.5.1 (gitops-engine lives in that repository since
3.x, under gitops-engine/).

The building blocks (merge patches, three-way merge patches, the jq deletion of ignored paths) are
checked against the Go libraries Argo CD links, at the versions of its go.mod: tools/argocd-sync
answers every one this replay computes on the repository's objects (test_manifests_argocd_sync.py).
How they are put together (the order of the steps, restoreNonIgnoredFields, RemoveMapFields)
follows the source lines cited below.

What is left out on purpose: server-side apply and server-side diff (this repository uses neither for
its overlays), strategic merge patch (built-in kinds only), CRD defaulting by the API server (our live
objects carry only what was applied plus what controllers write, which is what the diff compares).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


# --- JSON merge patch (github.com/evanphx/json-patch, as vendored by Argo CD) -----------------------


def create_merge_patch(original: Any, modified: Any) -> Any:
    """jsonpatch.CreateMergePatch: the RFC 7386 patch that turns `original` into `modified`.

    Objects are compared key by key; anything else (arrays included) is replaced as a whole.
    """
    patch: Doc = {}
    for key, value in modified.items():
        if key not in original:
            patch[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(original[key], dict):
            inner = create_merge_patch(original[key], value)
            if inner:
                patch[key] = inner
        elif value != original[key]:
            patch[key] = copy.deepcopy(value)
    for key in original:
        if key not in modified:
            patch[key] = None
    return patch


def merge_patch(document: Any, patch: Any) -> Any:
    """jsonpatch.MergePatch: apply an RFC 7386 patch (null deletes, objects merge, the rest replaces)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(document) if isinstance(document, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _keep_or_delete_null(patch: Doc, keep_null: bool) -> Doc:
    """apimachinery jsonmergepatch keepOrDeleteNullInObj: only the deletions (keep_null) or only the
    additions and changes of a merge patch. A sub-object left empty by the filter is dropped; an
    object that was empty in the patch is a value (kept as a change, never a deletion)."""
    kept: Doc = {}
    for key, value in patch.items():
        if value is None:
            if keep_null:
                kept[key] = None
        elif isinstance(value, dict):
            if not value:
                if not keep_null:
                    kept[key] = {}
                continue
            inner = _keep_or_delete_null(value, keep_null)
            if inner:
                kept[key] = inner
        elif not keep_null:
            kept[key] = value
    return kept


def three_way_merge_patch(original: Doc, modified: Doc, current: Doc) -> Doc:
    """k8s.io/apimachinery/pkg/util/jsonmergepatch.CreateThreeWayJSONMergePatch.

    Additions and changes come from current -> modified, deletions from original -> modified (so a
    field someone else set, and that was never in the applied configuration, is kept).
    """
    changes = _keep_or_delete_null(create_merge_patch(current, modified), keep_null=False)
    deletions = _keep_or_delete_null(create_merge_patch(original, modified), keep_null=True)
    return merge_patch(deletions, changes)


# --- ignoreDifferences (util/argo/normalizers/diff_normalizer.go) ------------------------------------

_JQ_PATH = re.compile(r"^(\.[A-Za-z_][A-Za-z0-9_]*(\[\])?)+$")


def _jq_delete(value: Any, steps: list[tuple[str, bool]]) -> None:
    if not steps or not isinstance(value, dict):
        return
    (key, each), rest = steps[0], steps[1:]
    if key not in value:
        return
    if not rest and not each:
        del value[key]
        return
    children = value[key] if each else [value[key]]
    if each and not isinstance(children, list):
        return
    if not rest:  # del(.a[]) empties the array
        value[key] = []
        return
    for child in children:
        _jq_delete(child, rest)


def jq_delete(document: Doc, expression: str) -> Doc:
    """What jqNormalizerPatch.Apply does (util/argo/normalizers/diff_normalizer.go:72; NewIgnoreNormalizer
    builds `del(<expression>)` with gojq at :162): a copy of `document` without the named paths.

    Only plain paths (`.a.b[].c`) are understood; anything else raises, so a test fails loudly
    instead of replaying the wrong thing.
    """
    if not _JQ_PATH.match(expression):
        raise ValueError(f"this replay understands jq paths like .spec.list[].field, not {expression!r}")
    steps = [(part.removesuffix("[]"), part.endswith("[]")) for part in expression[1:].split(".")]
    result = copy.deepcopy(document)
    _jq_delete(result, steps)
    return result


@dataclass(frozen=True)
class SyncSettings:
    """The parts of an Application spec that decide how one kind of resource is diffed and synced."""

    ignored_jq_paths: tuple[str, ...]
    respect_ignore_differences: bool
    apply_out_of_sync_only: bool

    @classmethod
    def of(cls, application_spec: Doc, group: str, kind: str) -> SyncSettings:
        paths: list[str] = []
        for entry in application_spec.get("ignoreDifferences", []):
            if entry.get("group", "") == group and entry.get("kind") == kind:
                if entry.get("jsonPointers"):
                    raise ValueError("this replay understands jqPathExpressions only")
                paths.extend(entry.get("jqPathExpressions", []))
        options = application_spec.get("syncPolicy", {}).get("syncOptions", [])
        return cls(tuple(paths), "RespectIgnoreDifferences=true" in options, "ApplyOutOfSyncOnly=true" in options)

    def normalize(self, document: Doc) -> Doc:
        for expression in self.ignored_jq_paths:
            document = jq_delete(document, expression)
        return document


# --- The cluster side: what `kubectl apply` leaves behind ---------------------------------------------


@dataclass(frozen=True)
class LiveResource:
    """A resource as the API server holds it: its fields and the configuration last applied to it."""

    object: Doc

    @property
    def last_applied(self) -> Doc:
        return json.loads(self.object["metadata"]["annotations"][LAST_APPLIED])

    def with_spec(self, update: Any) -> LiveResource:
        """The same resource after a controller (the autoscaler, KubeRay) changed it."""
        changed = copy.deepcopy(self.object)
        update(changed)
        return LiveResource(changed)


def _with_last_applied(target: Doc) -> Doc:
    annotated = copy.deepcopy(target)
    annotated.setdefault("metadata", {}).setdefault("annotations", {})[LAST_APPLIED] = json.dumps(target, sort_keys=True)
    return annotated


def create(target: Doc, status: Doc) -> LiveResource:
    """`kubectl apply` of a resource that does not exist yet, and its controller's first status."""
    live = _with_last_applied(target)
    live["metadata"].update({"uid": "0b7d6f0e-replay", "resourceVersion": "1", "generation": 1})
    live["status"] = status
    return LiveResource(live)


def kubectl_apply(target: Doc, live: LiveResource) -> LiveResource:
    """Client-side `kubectl apply` of a custom resource: kubectl finds no strategic-merge support for
    it and sends CreateThreeWayJSONMergePatch(last-applied, target + annotation, live)."""
    modified = _with_last_applied(target)
    patch = three_way_merge_patch(live.last_applied, modified, live.object)
    return LiveResource(merge_patch(live.object, patch))


# --- Argo CD: diff and sync --------------------------------------------------------------------------


def _remove_map_fields(config: Any, live: Any) -> Any:
    """gitops-engine/pkg/utils/json/json.go RemoveMapFields/RemoveListFields (called by diff.go
    threeWayMergePatch, :848): keep only what the
    configuration has (fields defaulted or written by controllers are not a difference)."""
    if isinstance(config, dict) and isinstance(live, dict):
        return {k: _remove_map_fields(v, live[k]) if live[k] is not None else None for k, v in config.items() if k in live}
    if isinstance(config, list) and isinstance(live, list):
        return [_remove_map_fields(config[i], v) if i < len(config) and v is not None else v for i, v in enumerate(live)]
    return live


def _strip_namespace(document: Doc) -> Doc:
    """diff.go removeNamespaceAnnotation."""
    document = copy.deepcopy(document)
    metadata = document.get("metadata", {})
    metadata.pop("namespace", None)
    if not metadata.get("annotations", True):
        metadata.pop("annotations")
    return document


def is_out_of_sync(target: Doc, live: LiveResource, settings: SyncSettings) -> bool:
    """DiffResult.Modified for one resource: gitops-engine/pkg/diff/diff.go Diff (:76) -> ThreeWayDiff (:731).

    controller/state.go:918 calls util/argo/diff/diff.go StateDiffs (:300), which hands the
    ignoreDifferences normalizer to Diff; Diff normalizes target, live (:86-90) and the last-applied
    configuration (:126) with it. ThreeWayDiff then predicts the live object after applying
    the target (threeWayMergePatch, JSON merge patch for a kind outside the scheme) and reports a
    difference when the prediction is not the live object.
    """
    config = _strip_namespace(settings.normalize(target))
    original = _strip_namespace(settings.normalize(live.last_applied))
    current = settings.normalize(live.object)
    patch = three_way_merge_patch(original, config, _remove_map_fields(original, current))
    return merge_patch(current, patch) != current


def _restore_non_ignored(patched: Doc, original: Doc, normalized_target: Doc, normalized_live: Doc | None) -> None:
    """controller/sync.go restoreNonIgnoredFields (:548): undo collateral damage where the normalizer left a
    field alone. It recurses through objects only; an array whose elements lost an ignored field is
    "touched by the normalizer" as a whole and keeps the live copy."""
    normalized_live = normalized_live or {}
    for key, original_value in original.items():
        in_patched, patched_value = key in patched, patched.get(key)
        in_normalized, normalized_value = key in normalized_target, normalized_target.get(key)
        if in_patched and isinstance(patched_value, dict) and isinstance(original_value, dict) and isinstance(normalized_value, dict):
            live_value = normalized_live.get(key)
            _restore_non_ignored(patched_value, original_value, normalized_value, live_value if isinstance(live_value, dict) else None)
            continue
        if in_normalized and normalized_value == original_value and (not in_patched or patched_value != original_value):
            patched[key] = original_value
    for key in list(patched):
        if key not in original and key in normalized_live:
            del patched[key]


def respect_ignore_differences(target: Doc, live: LiveResource, settings: SyncSettings) -> Doc:
    """controller/sync.go normalizeTargetResources (:421), for a kind outside client-go's scheme
    (scheme.Scheme.New fails at :441, so getMergePatch and applyMergePatch use JSON merge patch): the merge
    patch from the normalized live object to the live object (status removed) is applied to the
    normalized target. For `.spec.workerGroupSpecs[].replicas` that patch is the whole live
    `workerGroupSpecs` array (argo-cd issue 17694; PR 17693 fixed built-in kinds only)."""
    normalized_target = settings.normalize(target)
    normalized_live = settings.normalize(live.object)
    live_for_patch = {k: v for k, v in live.object.items() if k != "status"}
    normalized_live_for_patch = {k: v for k, v in normalized_live.items() if k != "status"}
    patched = merge_patch(normalized_target, create_merge_patch(normalized_live_for_patch, live_for_patch))
    _restore_non_ignored(patched, target, normalized_target, normalized_live)
    return patched


def sync(target: Doc, live: LiveResource, settings: SyncSettings) -> LiveResource:
    """One sync of one resource: what the API server holds afterwards.

    controller/sync.go SyncAppState: with RespectIgnoreDifferences=true (:239) the target is first
    replaced by normalizeTargetResources; with ApplyOutOfSyncOnly=true (:323) gitops-engine's
    syncContext.filterOutOfSyncTasks (gitops-engine/pkg/sync/sync_context.go:767) skips a resource whose
    diff is not Modified. Everything else is `kubectl apply`.
    """
    if settings.apply_out_of_sync_only and not is_out_of_sync(target, live, settings):
        return live
    if settings.respect_ignore_differences:
        target = respect_ignore_differences(target, live, settings)
    return kubectl_apply(target, live)
