"""The Ray rule catalogue: what the KubeRay operator, the cluster's wiring and our
safety policy would reject, checked on the defaulted documents of one bundle.

A rule is a small generator function registered with `@rule`, which declares it
in the registry of every check (../registry.py): it receives each subject it
names (a document of its kinds, by default; or each pod template, Ray cluster
spec or job in it; or the bundle) and the whole bundle, and yields `Problem`s.
Its id, severity and three-part docstring are what `raygitops rules`,
docs/rules.md and SARIF show. Adding a rule touches one module of this package
and its two fixtures. A rule keeps nothing from one call to the next but the
bundle's memoised views: the documents may be checked in several processes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ...findings import Finding, Severity
from ...inputs.documents import Document
from ...operator import OperatorConfig, operator_chart_gates
from ...options import PROFILES
from ...parallel import map_shards
from ..registry import (
    CATEGORIES,
    CONSISTENCY,
    OPERATOR,
    PROD_ERRORS,
    RAY_CATEGORIES,
    REFERENCE,
    REGISTRY,
    RULES,
    SAFETY,
    Check,
    Subject,
    declare,
    parse_doc,
    register,
)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

ANY_KIND = "*"  # in `kinds`: the rule looks at every document
RULE_CRASHED = declare(
    "rule-crashed",
    """A Ray rule failed on a resource (a raygitops bug to report); the other rules still ran.

    Why: a bug in raygitops made a rule fail on this resource; the other rules still ran, and the run is not clean
    until it is fixed.

    Fails:
        # any resource that makes a rule raise

    Instead:
        # nothing in the manifest: report the finding with the resource
    """,
    category=RULES,
    subject=Subject.DOCUMENT,
)


@dataclass(frozen=True)
class Problem:
    """What a rule found: where (JSON pointer or its parts) and what, in one sentence.

    `document` is set only when the problem belongs to another document of the
    bundle than the one being checked.
    """

    path: str | tuple[str | int, ...]
    message: str
    document: Document | None = None
    # True when the problem is that something is not in the bundle (a referenced object, a selected
    # pod): an error only when the bundle is known to be complete, else a warning.
    missing: bool = False
    # A lower severity than the rule's for this problem alone (a missing imagePullSecret is advice).
    severity: Severity | None = None


@dataclass
class Bundle:
    """The documents rendered together (one overlay, one file): what references may point at."""

    documents: list[Document]
    # Known to hold every object its resources reference (a kustomization's render, `--complete`,
    # the repository config); otherwise what it lacks may exist in the cluster already.
    complete: bool = True
    # The operator's feature gates in force; by default KubeRay 1.7.0's, over the kuberay-operator
    # Helm values of an Argo CD Application in the bundle.
    operator_config: OperatorConfig | None = None
    # (kind, name) of objects that exist outside the repository (the config's `external` list).
    external: frozenset[tuple[str, str]] = frozenset()
    _by_kind: dict[str, list[Document]] = field(default_factory=dict, init=False, repr=False)
    _by_name: dict[tuple[str, str], list[Document]] = field(default_factory=dict, init=False, repr=False)
    _memo: dict[object, object] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.operator_config is None:
            self.operator_config = OperatorConfig(operator_chart_gates(self.documents))
        for document in self.documents:
            self._by_kind.setdefault(document.kind, []).append(document)
            self._by_name.setdefault((document.kind, document.name), []).append(document)

    @property
    def operator(self) -> OperatorConfig:
        assert self.operator_config is not None  # set in __post_init__
        return self.operator_config

    def of_kind(self, *kinds: str) -> list[Document]:
        return [d for kind in kinds for d in self._by_kind.get(kind, [])]

    def memo(self, key: object, compute: Callable[[], T]) -> T:
        """Compute a view of the bundle once (pod labels, Services) and share it between rules."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]  # type: ignore[return-value]

    def find(self, kind: str, name: str, namespace: str = "") -> Document | None:
        """The first document of this kind and name in `namespace` (either side unset matches any)."""
        for document in self._by_name.get((kind, name), []):
            if not namespace or not document.namespace or document.namespace == namespace:
                return document
        return None


CheckFunction = Callable[..., Iterable[Problem]]  # (subject, bundle) -> problems; (bundle) for Subject.BUNDLE
Rule = Check  # a Ray rule is a check of the registry with `kinds` and `run` set


def rule(
    id: str,
    *,
    kinds: Iterable[str] = (ANY_KIND,),
    category: str = OPERATOR,
    severity: Severity = Severity.ERROR,
    subject: Subject = Subject.DOCUMENT,
) -> Callable[[F], F]:
    """Register a Ray rule in the registry; its docstring is the rule's doc (summary, Why:, Fails:, Instead:).

    The rule runner calls it with each subject of that type in a document of `kinds`
    (a `Document`, a `PodTemplate`, a `ClusterSpec`, a `JobSpec`) and the bundle;
    with `Subject.BUNDLE`, once per bundle with the bundle only.
    """

    def register_rule(run: F) -> F:
        if category not in RAY_CATEGORIES:
            raise ValueError(f"rule {id!r}: unknown category {category!r}")
        if not (run.__doc__ or "").strip():
            raise ValueError(f"rule {id!r} needs a docstring")
        register(Check(id, severity, category, subject, parse_doc(run.__doc__ or ""), tuple(kinds), run))
        return run

    return register_rule


def all_rules() -> list[Check]:
    """Every registered Ray rule, by category and then id."""
    load_rule_modules()
    rules = [c for c in REGISTRY.values() if c.run is not None]
    return sorted(rules, key=lambda r: (CATEGORIES.index(r.category), r.id))


def run_rules(
    bundle: Bundle, profile: str = "default", only: Iterable[str] | None = None, jobs: int = 1
) -> list[Finding]:
    """Run every rule (or the ids in `only`) over the bundle; findings in document order.

    The bundle rules run first, in this process; with `jobs` > 1 the documents are then checked in
    contiguous shards, all but the first by forked children (see ../../parallel.py), which share the
    views of the bundle built by then.
    """
    from ..subjects import subjects_of  # subjects reads the Ray specs of ._ray, a module of this package
    from ._ray import release_views

    wanted = None if only is None else set(only)
    selected = [r for r in all_rules() if wanted is None or r.id in wanted]
    findings: list[Finding] = []
    for current in (r for r in selected if r.subject is Subject.BUNDLE):
        findings.extend(_run(current, bundle.documents[0] if bundle.documents else None, profile, bundle, (bundle,)))
    per_document = [r for r in selected if r.subject is not Subject.BUNDLE]
    severities = {r.id: r.severity_for(profile) for r in per_document}
    # Each kind's rules, grouped by the subject they take (in catalogue order within a group), found once:
    # a document's subjects of one type are then asked for once, not once per rule.
    plans: dict[str, list[tuple[Subject, list[Check]]]] = {}

    def plan(kind: str) -> list[tuple[Subject, list[Check]]]:
        groups: dict[Subject, list[Check]] = {}
        for current in per_document:
            if ANY_KIND in current.kinds or kind in current.kinds:
                groups.setdefault(current.subject, []).append(current)
        return list(groups.items())

    def check(documents: Sequence[Document]) -> list[Finding]:
        found: list[Finding] = []
        for document in documents:
            kind = document.kind
            if kind not in plans:
                plans[kind] = plan(kind)
            for subject_type, rules in plans[kind]:
                for subject in subjects_of(document, subject_type):
                    for current in rules:
                        _run_into(found, current, severities[current.id], document, bundle, (subject, bundle))
            release_views(document)
        return found

    for shard in map_shards(bundle.documents, check, jobs=jobs):
        findings.extend(shard)
    return findings


def _run(
    current: Check, document: Document | None, profile: str, bundle: Bundle, arguments: tuple[object, ...]
) -> list[Finding]:
    findings: list[Finding] = []
    _run_into(findings, current, current.severity_for(profile), document, bundle, arguments)
    return findings


def _run_into(
    findings: list[Finding],
    current: Check,
    severity: Severity,
    document: Document | None,
    bundle: Bundle,
    arguments: tuple[object, ...],
) -> None:
    """Run one rule on one subject and add its findings; a rule that raises is reported, not propagated."""
    assert current.run is not None
    try:
        for problem in current.run(*arguments):
            target = problem.document or document
            if target is not None:
                problem_severity = _problem_severity(problem, severity, bundle)
                findings.append(target.finding(current.id, problem_severity, problem.path, problem.message))
    except Exception as exc:  # a bug in a rule must not hide the other findings
        if document is not None:
            findings.append(
                document.finding(
                    RULE_CRASHED,
                    Severity.ERROR,
                    "",
                    f"rule {current.id} failed on this resource ({type(exc).__name__}: {exc}); "
                    "this is a raygitops bug, please report it with this resource",
                )
            )


def _problem_severity(problem: Problem, severity: Severity, bundle: Bundle) -> Severity:
    """A missing object is a warning unless the bundle is known to be complete; advice stays a warning."""
    if problem.severity is Severity.WARNING or (problem.missing and not bundle.complete):
        return Severity.WARNING
    return severity


def load_rule_modules() -> None:
    """Import every module of this package once, so their @rule decorators register."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


__all__ = [
    "ANY_KIND",
    "CATEGORIES",
    "CONSISTENCY",
    "OPERATOR",
    "PROD_ERRORS",
    "PROFILES",
    "REFERENCE",
    "REGISTRY",
    "RULE_CRASHED",
    "SAFETY",
    "Bundle",
    "Problem",
    "Rule",
    "Subject",
    "all_rules",
    "load_rule_modules",
    "rule",
    "run_rules",
]
