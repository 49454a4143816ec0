"""Argo CD: which fields of a target's resources it never syncs (ignoreDifferences), and whether it prunes.

Read from the rendered Argo CD bootstrap: an ApplicationSet whose git directory
generator matches the target (or an Application whose source.path is the
target). With `RespectIgnoreDifferences=true` an ignored field keeps the live
value on sync too, so a change to it in git never reaches the cluster.

Paths: jsonPointers and the jq path expressions made only of `.field`, `[]` and
`[N]` steps (what ignoreDifferences is used for in practice). A jq expression
with anything else (select(), pipes) is not modelled and hides nothing here:
the diff then over-reports rather than hides a change.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any

from ..findings import pointer_parts
from ..inputs.documents import Document

WILDCARD = "*"
Step = str | int  # a field name, an index, or WILDCARD for any index
_JQ_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d*)\]")


@dataclass(frozen=True)
class IgnoreRule:
    group: str
    kind: str
    name: str
    namespace: str
    paths: tuple[tuple[Step, ...], ...]

    def applies_to(self, group: str, kind: str, namespace: str, name: str) -> bool:
        return (
            self.group == group and self.kind == kind and self.name in ("", name) and self.namespace in ("", namespace)
        )

    def hides(self, path: tuple[str | int, ...]) -> bool:
        return any(_prefix_matches(pattern, path) for pattern in self.paths)


@dataclass(frozen=True)
class SyncPolicy:
    """What Argo CD does for one target: the fields it leaves alone, and whether deletions are pruned."""

    ignore: tuple[IgnoreRule, ...] = ()
    prune: bool = False
    respect_ignore: bool = False  # syncOption RespectIgnoreDifferences=true: ignored fields are not applied either
    out_of_sync_only: bool = False  # syncOption ApplyOutOfSyncOnly=true: only resources that differ are applied
    application: str = ""  # the name of the Application or ApplicationSet that syncs the target

    def ignored(self, group: str, kind: str, namespace: str, name: str, path: tuple[str | int, ...]) -> bool:
        return any(r.applies_to(group, kind, namespace, name) and r.hides(path) for r in self.ignore)


@dataclass
class ArgoCD:
    policies: list[tuple[str, SyncPolicy]] = field(default_factory=list)  # (path glob, policy)

    def policy_for(self, target: str) -> SyncPolicy | None:
        for pattern, policy in self.policies:
            if fnmatch.fnmatchcase(target.strip("/"), pattern.strip("/")):
                return policy
        return None


def read_argocd(documents: list[Document]) -> ArgoCD:
    argocd = ArgoCD()
    for document in documents:
        if document.group != "argoproj.io":
            continue
        if document.kind == "ApplicationSet":
            template = _dict(document.spec.get("template"))
            policy = _policy(_dict(template.get("spec")), document.name)
            for git in _git_generators(_list(document.spec.get("generators"))):
                for directory in _list(git.get("directories")):
                    directory = _dict(directory)
                    if isinstance(directory.get("path"), str) and directory.get("exclude") is not True:
                        argocd.policies.append((directory["path"], policy))
        elif document.kind == "Application":
            source = _dict(document.spec.get("source"))
            if isinstance(source.get("path"), str):
                argocd.policies.append((source["path"], _policy(document.spec, document.name)))
    return argocd


def _git_generators(generators: list[Any]) -> list[dict[str, Any]]:
    """Every git generator, also those nested in a matrix or merge generator."""
    found: list[dict[str, Any]] = []
    for generator in generators:
        generator = _dict(generator)
        if "git" in generator:
            found.append(_dict(generator["git"]))
        for combining in ("matrix", "merge"):
            found.extend(_git_generators(_list(_dict(generator.get(combining)).get("generators"))))
    return found


def _policy(app_spec: dict[str, Any], application: str) -> SyncPolicy:
    rules: list[IgnoreRule] = []
    for entry in _list(app_spec.get("ignoreDifferences")):
        entry = _dict(entry)
        paths = [tuple(pointer_parts(p)) for p in _list(entry.get("jsonPointers")) if isinstance(p, str)]
        for expression in _list(entry.get("jqPathExpressions")):
            if isinstance(expression, str) and (steps := parse_jq_path(expression)) is not None:
                paths.append(steps)
        if paths:
            rules.append(
                IgnoreRule(
                    str(entry.get("group", "")),
                    str(entry.get("kind", "")),
                    str(entry.get("name", "")),
                    str(entry.get("namespace", "")),
                    tuple(paths),
                )
            )
    sync = _dict(app_spec.get("syncPolicy"))
    automated = _dict(sync.get("automated"))
    options = _list(sync.get("syncOptions"))
    return SyncPolicy(
        tuple(rules),
        automated.get("prune") is True,
        "RespectIgnoreDifferences=true" in options,
        "ApplyOutOfSyncOnly=true" in options,
        application,
    )


def parse_jq_path(expression: str) -> tuple[Step, ...] | None:
    """`.spec.workerGroupSpecs[].replicas` -> ("spec", "workerGroupSpecs", "*", "replicas"); None if not a plain path."""
    steps: list[Step] = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _JQ_STEP.match(text, position)
        if not match:
            return None
        if match.group(1) is not None:
            steps.append(match.group(1))
        else:
            steps.append(int(match.group(2)) if match.group(2) else WILDCARD)
        position = match.end()
    return tuple(steps) if steps else None


def _prefix_matches(pattern: tuple[Step, ...], path: tuple[str | int, ...]) -> bool:
    """Whether `path` lies at or under `pattern` (an ignored field hides its whole subtree)."""
    if len(path) < len(pattern):
        return False
    for want, got in zip(pattern, path, strict=False):
        if want == WILDCARD:
            if not isinstance(got, int):
                return False
        elif want != got:
            return False
    return True


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
