"""Catalog: every check raygitops runs, as `raygitops rules` lists them.

The core stages (decoding, identity, schema, native checks) keep their ids
and docs in one table each; the Ray rules come from the rule registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from .native import builtin_kinds as builtin_checks
from .native import identity
from ..engines import kubeconform
from ..schema import structural
from ..report import suppress
from ..inputs.documents import DECODE_RULES
from .ray import ENGINE_RULES, all_rules
from ..inputs.sources import SOURCE_RULES

# Core checks that report a warning, not an error (the default for the core stages).
CORE_WARNINGS = (
    frozenset({"unknown-group", "cel-unsupported", "suppression-unknown-rule"}) | builtin_checks.WARNING_RULES
)


@dataclass(frozen=True)
class Check:
    id: str
    severity: str
    category: str
    doc: str


def core_checks() -> list[Check]:
    tables = (
        ("decode", DECODE_RULES),
        ("render", SOURCE_RULES),
        ("identity", identity.IDENTITY_RULES),
        ("schema", structural.SCHEMA_RULES),
        ("native", builtin_checks.BUILTIN_RULES),
        ("kubeconform", kubeconform.KUBECONFORM_RULES),
        ("rules", ENGINE_RULES),
        ("suppression", suppress.SUPPRESSION_RULES),
    )
    return [
        Check(rule_id, "warning" if rule_id in CORE_WARNINGS else "error", category, doc)
        for category, table in tables
        for rule_id, doc in table.items()
    ]


def all_checks() -> list[Check]:
    ray_rules = [Check(r.id, r.severity.value, r.category, r.doc) for r in all_rules()]
    return core_checks() + ray_rules
