"""The registry: every check raygitops runs, whatever its layer, declared once where it is implemented.

A check has an id, a default severity, a category (the layer or rule family it
belongs to), the subject it runs on, and a doc in three parts, as ruff documents
its rules:

    One line: what the check reports.

    Why: why it matters, what the cluster or the operator does with it.

    Fails:
        <a fragment that triggers it>

    Instead:
        <the fragment written correctly>

Core stages call `declare` at module level; Ray rules use the `@rule` decorator
(checks/ray), which declares them here too. `raygitops rules`, docs/rules.md,
SARIF's rule metadata and the suppression checks all read this registry, and
`check(id)` raises for an id nobody declared, so a module-level reference to a
misspelt id fails at import.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..findings import Severity


class Subject(enum.Enum):
    """What a check runs on; the engine hands each check its subjects with their JSON pointers."""

    STREAM = "stream"  # the YAML text or the kustomization, before there are documents
    DOCUMENT = "document"  # one resource
    POD_TEMPLATE = "pod template"  # every pod template of every kind (checks/subjects.py)
    RAY_CLUSTER = "Ray cluster spec"  # a RayClusterSpec wherever a kind embeds it
    JOB = "job"  # a RayJobSpec (a RayJob's spec, a RayCronJob's job template)
    BUNDLE = "bundle"  # the documents rendered together


# Categories, in the order `raygitops rules` and docs/rules.md list them: the core layers in the
# order the engine runs them, then the Ray rule families.
DECODE = "decode"
RENDER = "render"
IDENTITY = "identity"
SCHEMA = "schema"
NATIVE = "native"
KUBECONFORM = "kubeconform"
RULES = "rules"  # what the rule runner reports about itself
SUPPRESSION = "suppression"
OPERATOR = "operator"  # what KubeRay's reconcile loop or webhook rejects
REFERENCE = "reference"  # names that must point at something in the bundle
CONSISTENCY = "consistency"  # values that must agree with each other
SAFETY = "safety"  # unsafe settings: warnings, errors under --profile prod
CORE_CATEGORIES = (DECODE, RENDER, IDENTITY, SCHEMA, NATIVE, KUBECONFORM, RULES, SUPPRESSION)
RAY_CATEGORIES = (OPERATOR, REFERENCE, CONSISTENCY, SAFETY)
CATEGORIES = CORE_CATEGORIES + RAY_CATEGORIES

# Warnings outside the safety category that --profile prod also turns into errors: nothing rejects
# them, but production should not run them.
PROD_ERRORS = frozenset({"image-ray-version"})

# Modules that declare checks at import; `all_checks` imports them so the registry is complete.
# The Ray rule modules are found by the checks.ray package itself.
CHECK_MODULES = (
    "raygitops.inputs.documents",
    "raygitops.inputs.sources",
    "raygitops.checks.native.identity",
    "raygitops.checks.native.templates",
    "raygitops.schema.structural",
    "raygitops.checks.native.builtin_kinds",
    "raygitops.engines.kubeconform",
    "raygitops.checks.ray",
    "raygitops.report.suppress",
)


class UnknownCheck(KeyError):
    """An id that no module declared."""


@dataclass(frozen=True)
class CheckDoc:
    """A check's documentation: a one-line summary, and the why / fails / instead parts."""

    summary: str
    why: str = ""
    fails: str = ""
    instead: str = ""

    @property
    def complete(self) -> bool:
        return bool(self.why and self.fails and self.instead)


_SECTION = re.compile(r"^(Why|Fails|Instead):[ \t]*(.*)$")


def parse_doc(docstring: str) -> CheckDoc:
    """Split a check's docstring into its summary and its Why:, Fails: and Instead: parts."""
    lines = inspect.cleandoc(docstring).splitlines()
    if not lines or not lines[0].strip():
        raise ValueError("a check's doc starts with a one-line summary")
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[1:]:
        match = _SECTION.match(line)
        if match:
            current = parts.setdefault(match.group(1), [])
            if match.group(2):
                current.append(match.group(2))
        elif current is not None:
            current.append(line)

    def part(name: str) -> str:
        # dedent, not cleandoc: cleandoc strips the first line on its own, which flattens a fragment
        # whose first line is its only top-level key (`spec:` over the lines nested under it).
        return textwrap.dedent("\n".join(parts.get(name, []))).strip("\n")

    return CheckDoc(lines[0].strip(), part("Why"), part("Fails"), part("Instead"))


@dataclass(frozen=True)
class Check:
    """One check as declared: what `raygitops rules`, docs/rules.md and SARIF show about it."""

    id: str
    severity: Severity
    category: str
    subject: Subject
    doc: CheckDoc
    kinds: tuple[str, ...] = ()  # Ray rules: the kinds whose documents they look at ("*": every kind)
    run: Callable[..., Any] | None = None  # Ray rules: the function the rule runner calls

    def severity_for(self, profile: str) -> Severity:
        if profile == "prod" and (self.category == SAFETY or self.id in PROD_ERRORS):
            return Severity.ERROR
        return self.severity

    @property
    def anchor(self) -> str:
        """The fragment of the check's section in docs/rules.md."""
        return self.id


REGISTRY: dict[str, Check] = {}


def register(new: Check) -> Check:
    if new.id in REGISTRY:
        raise ValueError(f"check id {new.id!r} declared twice")
    if new.category not in CATEGORIES:
        raise ValueError(f"check {new.id!r}: unknown category {new.category!r}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", new.id):
        raise ValueError(f"check id {new.id!r} is not lowercase words joined by '-'")
    REGISTRY[new.id] = new
    return new


def declare(
    id: str,
    doc: str,
    *,
    category: str,
    subject: Subject = Subject.DOCUMENT,
    severity: Severity = Severity.ERROR,
) -> str:
    """Declare a core check where it is implemented; returns its id for the module to emit."""
    register(Check(id, severity, category, subject, parse_doc(doc)))
    return id


def check(id: str) -> Check:
    """The declared check `id`; raises UnknownCheck for an id nobody declared."""
    if id not in REGISTRY:
        _load_check_modules()
    try:
        return REGISTRY[id]
    except KeyError:
        raise UnknownCheck(f"no check is declared with id {id!r}") from None


def all_checks() -> list[Check]:
    """Every check: the core layers in engine order (declaration order within each), then the Ray rules."""
    _load_check_modules()
    order = {category: index for index, category in enumerate(CATEGORIES)}
    core = [c for c in REGISTRY.values() if c.category in CORE_CATEGORIES]
    ray = [c for c in REGISTRY.values() if c.category in RAY_CATEGORIES]
    return sorted(core, key=lambda c: order[c.category]) + sorted(ray, key=lambda c: (order[c.category], c.id))


def known_ids() -> frozenset[str]:
    _load_check_modules()
    return frozenset(REGISTRY)


def _load_check_modules() -> None:
    for name in CHECK_MODULES:
        module = importlib.import_module(name)
        load_rules = getattr(module, "load_rule_modules", None)
        if load_rules is not None:
            load_rules()
