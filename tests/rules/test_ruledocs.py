"""docs/rules.md is generated from the registry of every check and committed; it must stay current."""

from __future__ import annotations

from pathlib import Path

from raygitops.checks.registry import all_checks
from raygitops.report.ruledocs import render_rules_markdown

RULES_DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_committed_rules_doc_is_current() -> None:
    assert RULES_DOC.read_text(encoding="utf-8") == render_rules_markdown(all_checks()), (
        "docs/rules.md is stale: run `make rules-doc` and commit it"
    )


def test_rules_doc_lists_every_check_with_severity_doc_and_a_section() -> None:
    text = render_rules_markdown(all_checks())
    lines = text.splitlines()
    for check in all_checks():
        row = next(line for line in lines if line.startswith(f"| [`{check.id}`](#{check.id}) |"))
        assert check.severity.value in row and check.doc.summary.replace("|", "\\|") in row
        assert f"### `{check.id}`" in lines, f"{check.id} has no section for SARIF's helpUri to point at"
        for part in (check.doc.why, check.doc.fails, check.doc.instead):
            assert part in text
    assert "raygitops.io/external" in text and "raygitops.io/ignore" in text
