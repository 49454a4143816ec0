"""Every rule has a passing and a failing fixture, and each behaves as its fixture says."""

from __future__ import annotations

import pytest

from raygitops.inputs.documents import load_stream
from raygitops.findings import Finding
from raygitops.checks.ray import Bundle, all_rules, run_rules

from .cases import CASES


def findings_of(rule_id: str, text: str, profile: str = "default") -> list[Finding]:
    documents, decode_findings = load_stream(text, "fixture.yaml")
    assert decode_findings == [], f"fixture does not decode: {decode_findings}"
    return [f for f in run_rules(Bundle(documents), profile) if f.rule == rule_id]


def test_every_registered_rule_has_fixtures() -> None:
    registered = {r.id for r in all_rules()}
    assert sorted(registered - CASES.keys()) == [], "rules without a passing/failing fixture"
    assert sorted(CASES.keys() - registered) == [], "fixtures for rules that do not exist"


def test_catalogue_has_at_least_45_rules_each_with_a_one_line_doc() -> None:
    rules = all_rules()
    assert len(rules) >= 45
    for rule in rules:
        assert rule.doc.summary and "\n" not in rule.doc.summary, rule.id


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_failing_fixture_is_reported_at_the_field(rule_id: str) -> None:
    case = CASES[rule_id]
    found = findings_of(rule_id, case.failing)
    assert found, f"{rule_id} did not fire on its failing fixture"
    at_path = [f for f in found if f.path == case.path]
    assert at_path, f"{rule_id} reported {[f.path for f in found]}, expected {case.path}"
    assert any(case.message in f.message for f in at_path), [f.message for f in at_path]
    for finding in found:
        assert "\n" not in finding.message  # one line per finding, as the text output prints it


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_passing_fixture_is_clean(rule_id: str) -> None:
    assert findings_of(rule_id, CASES[rule_id].passing) == []
