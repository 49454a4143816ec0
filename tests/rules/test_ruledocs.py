"""docs/rules.md is generated from the registry and committed; it must stay current."""

from __future__ import annotations

from pathlib import Path

from raygitops.report.ruledocs import render_rules_markdown
from raygitops.checks.ray import all_rules

RULES_DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_committed_rules_doc_is_current() -> None:
    assert RULES_DOC.read_text(encoding="utf-8") == render_rules_markdown(all_rules()), (
        "docs/rules.md is stale: run `make rules-doc` and commit it"
    )


def test_rules_doc_lists_every_rule_with_severity_and_doc() -> None:
    text = render_rules_markdown(all_rules())
    for rule in all_rules():
        line = next(l for l in text.splitlines() if l.startswith(f"| `{rule.id}` |"))
        assert rule.severity.value in line and rule.doc.replace("|", "\\|") in line
    assert "raygitops.io/external" in text and "raygitops.io/ignore" in text
