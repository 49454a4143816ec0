"""Suppressions: `raygitops.io/ignore: "<rule-id>: <reason>"` on the resource a finding is about."""

from __future__ import annotations

from raygitops.inputs.documents import load_stream
from raygitops.findings import Severity
from raygitops.checks.ray import Bundle, run_rules
from raygitops.report.suppress import UNKNOWN_RULE, WITHOUT_REASON, apply_suppressions, parse_ignore

from .cases import cluster, spec, stream

UNSAFE = spec("authOptions: {mode: disabled}")


def validate(text: str, known_rules=None):
    documents, _ = load_stream(text, "overlay")
    findings = run_rules(Bundle(documents), "prod", only=["token-auth-disabled", "ray-version-missing"])
    return findings, apply_suppressions(findings, documents, known_rules)


def test_suppression_with_reason_removes_the_finding_and_is_counted() -> None:
    text = cluster(UNSAFE, annotations="{raygitops.io/ignore: 'token-auth-disabled: dev cluster, port-forward only'}")
    findings, result = validate(text)
    assert [f.rule for f in findings] == ["token-auth-disabled"]
    assert result.kept == [] and result.suppressed == 1 and result.new == []


def test_suppression_without_reason_is_a_finding_and_suppresses_nothing() -> None:
    text = cluster(UNSAFE, annotations="{raygitops.io/ignore: 'token-auth-disabled'}")
    _, result = validate(text)
    assert result.suppressed == 0
    assert sorted(f.rule for f in result.kept) == sorted(["token-auth-disabled", WITHOUT_REASON])
    [bad] = result.new
    assert bad.severity is Severity.ERROR
    assert bad.path == "/metadata/annotations/raygitops.io~1ignore"
    assert "has no reason" in bad.message and bad.name == "rc"


def test_several_entries_separated_by_newlines_or_semicolons() -> None:
    text = cluster(UNSAFE.replace("rayVersion: '2.60.0', ", ""),
                   annotations="{raygitops.io/ignore: 'token-auth-disabled: lab; ray-version-missing: custom image'}")
    findings, result = validate(text)
    assert len(findings) == 2 and result.suppressed == 2 and result.kept == []
    assert parse_ignore("a-rule: one\nb-rule: two; c-rule") == (
        [parse_ignore("a-rule: one")[0][0], parse_ignore("b-rule: two")[0][0]], ["c-rule"])


def test_suppression_applies_only_to_its_own_resource() -> None:
    suppressed = cluster(UNSAFE, name="quiet", annotations="{raygitops.io/ignore: 'token-auth-disabled: lab'}")
    other = cluster(UNSAFE, name="loud")
    _, result = validate(stream(suppressed, other))
    assert [(f.rule, f.name) for f in result.kept] == [("token-auth-disabled", "loud")]
    assert result.suppressed == 1


def test_suppressing_another_rule_keeps_the_finding() -> None:
    _, result = validate(cluster(UNSAFE, annotations="{raygitops.io/ignore: 'missing-limits: sized elsewhere'}"))
    assert [f.rule for f in result.kept] == ["token-auth-disabled"] and result.suppressed == 0


def test_unknown_rule_id_is_reported_when_the_catalogue_is_given() -> None:
    text = cluster(UNSAFE, annotations="{raygitops.io/ignore: 'token-auth-disabld: typo'}")
    _, result = validate(text, known_rules={"token-auth-disabled"})
    assert [f.rule for f in result.new] == [UNKNOWN_RULE]
    assert "token-auth-disabld" in result.new[0].message
    _, without_catalogue = validate(text)
    assert without_catalogue.new == []


def test_non_string_annotation_is_reported_not_crashing() -> None:
    documents, _ = load_stream(cluster(UNSAFE, annotations="{raygitops.io/ignore: [a, b]}"), "overlay")
    result = apply_suppressions([], documents)
    assert [f.rule for f in result.new] == [WITHOUT_REASON]

