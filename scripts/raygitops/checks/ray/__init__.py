"""The Ray rule catalogue: what the KubeRay operator, the cluster's wiring and our
safety policy would reject, checked on the defaulted documents of one bundle.

A rule is a small generator function registered with `@rule`: it receives one
document (of the kinds it names) and the whole bundle it came from, and yields
`Problem`s. Its id, severity and the first line of its docstring are what
`raygitops rules` and docs/rules.md show. Adding a rule touches one module of
this package and its tests.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from ...inputs.documents import Document
from ...findings import Finding, Severity

# Categories, in the order `raygitops rules` lists them.
OPERATOR = "operator"  # what KubeRay's reconcile loop or webhook rejects
REFERENCE = "reference"  # names that must point at something in the bundle
CONSISTENCY = "consistency"  # values that must agree with each other
SAFETY = "safety"  # unsafe settings: warnings, errors under --profile prod
CATEGORIES = (OPERATOR, REFERENCE, CONSISTENCY, SAFETY)

PROFILES = ("default", "prod")

T = TypeVar("T")

ANY_KIND = "*"  # in `kinds`: the rule looks at every document
RULE_CRASHED = "rule-crashed"  # reported instead of a traceback when a rule has a bug
# Findings run_rules reports about itself, for `raygitops rules` (id -> one-line doc).
ENGINE_RULES = {RULE_CRASHED: "A Ray rule failed on a resource (a raygitops bug to report); the other rules still ran."}


@dataclass(frozen=True)
class Problem:
    """What a rule found: where (JSON pointer or its parts) and what, in one sentence.

    `document` is set only when the problem belongs to another document of the
    bundle than the one being checked.
    """

    path: str | tuple[str | int, ...]
    message: str
    document: Document | None = None


@dataclass
class Bundle:
    """The documents rendered together (one overlay, one file): what references may point at."""

    documents: list[Document]
    _by_kind: dict[str, list[Document]] = field(default_factory=dict, init=False, repr=False)
    _memo: dict[object, object] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for document in self.documents:
            self._by_kind.setdefault(document.kind, []).append(document)

    def of_kind(self, *kinds: str) -> list[Document]:
        return [d for kind in kinds for d in self._by_kind.get(kind, [])]

    def memo(self, key: object, compute: Callable[[], T]) -> T:
        """Compute a view of the bundle once (pod labels, Services) and share it between rules."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[return-value]

    def find(self, kind: str, name: str, namespace: str = "") -> Document | None:
        for document in self._by_kind.get(kind, []):
            if document.name == name and (not namespace or not document.namespace or document.namespace == namespace):
                return document
        return None


CheckFunction = Callable[[Document, Bundle], Iterable[Problem]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    category: str
    kinds: tuple[str, ...]
    doc: str
    check: CheckFunction

    def severity_for(self, profile: str) -> Severity:
        if self.category == SAFETY and profile == "prod":
            return Severity.ERROR
        return self.severity


REGISTRY: dict[str, Rule] = {}


def rule(
    id: str,
    *,
    kinds: Iterable[str],
    category: str = OPERATOR,
    severity: Severity = Severity.ERROR,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check; its docstring's first line becomes the rule's one-line doc."""

    def register(check: CheckFunction) -> CheckFunction:
        if id in REGISTRY:
            raise ValueError(f"rule id {id!r} registered twice")
        if category not in CATEGORIES:
            raise ValueError(f"rule {id!r}: unknown category {category!r}")
        doc = (check.__doc__ or "").strip().splitlines()
        if not doc:
            raise ValueError(f"rule {id!r} needs a docstring")
        REGISTRY[id] = Rule(id, severity, category, tuple(kinds), doc[0].strip(), check)
        return check

    return register


def all_rules() -> list[Rule]:
    """Every registered rule, by category and then id."""
    _load_rule_modules()
    return sorted(REGISTRY.values(), key=lambda r: (CATEGORIES.index(r.category), r.id))


def run_rules(bundle: Bundle, profile: str = "default", only: Iterable[str] | None = None) -> list[Finding]:
    """Run every rule (or the ids in `only`) over the bundle; findings in document order."""
    wanted = None if only is None else set(only)
    selected = [r for r in all_rules() if wanted is None or r.id in wanted]
    findings: list[Finding] = []
    for document in bundle.documents:
        for current in selected:
            if ANY_KIND not in current.kinds and document.kind not in current.kinds:
                continue
            severity = current.severity_for(profile)
            try:
                for problem in current.check(document, bundle):
                    target = problem.document or document
                    findings.append(target.finding(current.id, severity, problem.path, problem.message))
            except Exception as exc:  # a bug in a rule must not hide the other findings
                findings.append(
                    document.finding(
                        RULE_CRASHED, Severity.ERROR, "",
                        f"rule {current.id} failed on this resource ({type(exc).__name__}: {exc}); "
                        "this is a raygitops bug, please report it with this resource",
                    )
                )
    return findings


def _load_rule_modules() -> None:
    """Import every module of this package once, so their @rule decorators register."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


__all__ = [
    "ANY_KIND", "Bundle", "ENGINE_RULES", "RULE_CRASHED", "CATEGORIES", "CONSISTENCY", "OPERATOR", "PROFILES", "Problem", "REFERENCE",
    "REGISTRY", "Rule", "SAFETY", "all_rules", "rule", "run_rules",
]
