"""Diff: render every target at both revisions, pair the resources, and assess each change.

Argo CD's sync policy (ignoreDifferences, prune) comes from the Argo CD
bootstrap at the head revision: that is what syncs the change once merged.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..inputs.documents import Document
from ..inputs.render import Renderer
from .argocd import ArgoCD, read_argocd
from .capacity import Capacity, Resources, capacity_of
from .effects import Change, assess
from .pairing import pair_documents
from .revisions import Revision, RevisionError, checkout, render_target

ARGOCD_TARGET = "argocd"


@dataclass
class TargetDiff:
    path: str
    changes: list[Change] = field(default_factory=list)
    before: Capacity = field(default_factory=Capacity)
    after: Capacity = field(default_factory=Capacity)
    added: bool = False  # the target does not exist at the base revision
    removed: bool = False  # ... or no longer at the head

    @property
    def peak_extra(self) -> Resources:
        """What runs on top of `after` while RayServices switch to their new clusters."""
        total = Resources()
        for change in self.changes:
            total += change.peak_extra
        return total

    @property
    def effect_ids(self) -> set[str]:
        return {e.id for c in self.changes for e in c.effects}


def diff_targets(
    repo: Path, base: Revision, head: Revision, targets: list[str], renderer: Renderer, *, named: bool = False
) -> list[TargetDiff]:
    """`named`: the user named the targets, so one that exists at neither revision is an error, not skipped."""
    wanted = list(dict.fromkeys([*targets, ARGOCD_TARGET]))
    with checkout(repo, base) as base_tree, checkout(repo, head) as head_tree:
        jobs = [
            (tree, target, revision) for tree, revision in ((base_tree, base), (head_tree, head)) for target in wanted
        ]
        with ThreadPoolExecutor(max_workers=4) as pool:
            rendered = list(pool.map(lambda job: render_target(job[0], job[1], renderer, job[2]), jobs))
    before = dict(zip(wanted, rendered[: len(wanted)], strict=False))
    after = dict(zip(wanted, rendered[len(wanted) :], strict=False))
    missing = [t for t in targets if before[t] is None and after[t] is None]
    if named and missing:
        raise RevisionError(f"{', '.join(missing)}: no kustomization there at {base.label} or {head.label}")
    argocd = read_argocd(after[ARGOCD_TARGET] or [])
    return [
        _target_diff(t, before[t], after[t], argocd) for t in targets if before[t] is not None or after[t] is not None
    ]


def _target_diff(target: str, old: list[Document] | None, new: list[Document] | None, argocd: ArgoCD) -> TargetDiff:
    policy = argocd.policy_for(target)
    pairs = pair_documents(old or [], new or [])
    return TargetDiff(
        path=target,
        changes=[assess(pair, policy) for pair in pairs],
        before=capacity_of([d.body for d in old or []]),
        after=capacity_of([d.body for d in new or []]),
        added=old is None,
        removed=new is None,
    )
