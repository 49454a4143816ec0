"""Pairing: match the objects of two renders by group, kind, namespace and name, and list what changed.

Objects from a kustomize generator (configMapGenerator, secretGenerator) carry a
hash of their content in their name, so an edited generated ConfigMap is a new
name: such a pair is matched by the name without the suffix and reported as one
change, not as a deletion and an unrelated addition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..findings import field_name
from ..inputs.documents import Document

# kustomize's generator suffix: "-" and 10 characters of its hash alphabet (no vowels, no 0/1/3).
_GENERATED_SUFFIX = re.compile(r"^(?P<stem>.+)-[bcdfghkmt2456789]{10}$")
_GENERATED_KINDS = frozenset({"ConfigMap", "Secret"})


@dataclass(frozen=True, order=True)
class ResourceKey:
    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, document: Document) -> ResourceKey:
        return cls(document.group, document.kind, document.namespace, document.name)

    @property
    def display(self) -> str:
        return "/".join(p for p in (self.kind, self.namespace, self.name) if p)


@dataclass
class Pair:
    """One resource at both revisions: `old` None when added, `new` None when deleted."""

    key: ResourceKey
    old: Document | None
    new: Document | None
    changed: list[tuple[str | int, ...]] = field(default_factory=list)  # leaf paths that differ

    @property
    def change(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "deleted"
        if self.old.name != self.new.name:
            return "renamed"
        return "modified"


def pair_documents(old: list[Document], new: list[Document]) -> list[Pair]:
    """Every resource that differs between the two renders, in a stable order (unchanged ones left out)."""
    before = {ResourceKey.of(d): d for d in old}
    after = {ResourceKey.of(d): d for d in new}
    pairs: list[Pair] = []
    for key in sorted(before.keys() | after.keys()):
        pairs.append(Pair(key, before.get(key), after.get(key)))
    pairs = _join_generated(pairs)
    for pair in pairs:
        if pair.old is not None and pair.new is not None:
            pair.changed = changed_paths(_comparable(pair.old), _comparable(pair.new))
    return [p for p in pairs if p.old is None or p.new is None or p.changed]


def _comparable(document: Document) -> dict[str, Any]:
    """The body without the object's own name: a renamed generated object is compared by content."""
    body = dict(document.body)
    metadata = dict(document.metadata)
    metadata.pop("name", None)
    body["metadata"] = metadata
    return body


def _join_generated(pairs: list[Pair]) -> list[Pair]:
    """Join a deleted and an added generated object whose names differ only in the hash suffix."""
    added: dict[tuple[str, str, str, str], Pair] = {}
    for pair in pairs:
        if pair.old is None and pair.key.kind in _GENERATED_KINDS and (stem := _stem(pair.key.name)):
            added[(pair.key.group, pair.key.kind, pair.key.namespace, stem)] = pair
    joined: list[Pair] = []
    consumed: set[int] = set()
    for pair in pairs:
        if pair.new is None and pair.key.kind in _GENERATED_KINDS and (stem := _stem(pair.key.name)):
            partner = added.get((pair.key.group, pair.key.kind, pair.key.namespace, stem))
            if partner is not None:
                consumed.add(id(partner))
                joined.append(Pair(partner.key, pair.old, partner.new))
                continue
        joined.append(pair)
    return [p for p in joined if id(p) not in consumed]


def _stem(name: str) -> str | None:
    match = _GENERATED_SUFFIX.match(name)
    return match.group("stem") if match else None


def changed_paths(old: Any, new: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """The leaf paths where `old` and `new` differ (a whole subtree when one side lacks it)."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[tuple[str | int, ...]] = []
        for key in list(old) + [k for k in new if k not in old]:
            if key not in old or key not in new:
                paths.append((*prefix, key))
            else:
                paths.extend(changed_paths(old[key], new[key], (*prefix, key)))
        return paths
    if isinstance(old, list) and isinstance(new, list):
        paths = []
        for index in range(max(len(old), len(new))):
            if index >= len(old) or index >= len(new):
                paths.append((*prefix, index))
            else:
                paths.extend(changed_paths(old[index], new[index], (*prefix, index)))
        return paths
    return [] if old == new else [prefix]


def describe_paths(paths: list[tuple[str | int, ...]], limit: int = 4) -> str:
    """`spec.a, spec.b and 3 more`: a short list for one line of a report."""
    names = [field_name(p) or "(whole object)" for p in paths]
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
