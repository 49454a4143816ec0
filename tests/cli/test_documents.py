"""Decoding as kubectl does: strict YAML, one finding per defect, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raygitops.inputs.documents import load_stream
from raygitops.findings import Finding, Severity


def decode(text: str | bytes) -> tuple[list, list[Finding]]:
    return load_stream(text, "fixture.yaml")


def test_empty_documents_are_skipped_and_indexes_follow_the_stream():
    # The first "---" opens an empty document 0; the ConfigMap is document 1.
    documents, findings = decode("---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n")
    assert findings == []
    assert [(d.index, d.kind, d.line) for d in documents] == [(1, "ConfigMap", 3)]


def test_duplicate_key_is_an_error_with_both_lines():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"
    documents, findings = decode(text)
    assert documents == []
    [finding] = findings
    assert finding.rule == "yaml-duplicate-key"
    assert finding.line == 5
    assert 'duplicate key "name"' in finding.message and "line 4" in finding.message


def test_same_key_in_sibling_mappings_is_not_a_duplicate():
    text = "apiVersion: v1\nkind: List\nitems:\n- name: a\n- name: b\n"
    documents, findings = decode(text)
    assert findings == [] and len(documents) == 1


def test_syntax_error_reports_line_and_keeps_earlier_documents():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: [unclosed\n"
    documents, findings = decode(text)
    assert [d.name for d in documents] == ["ok"]
    [finding] = findings
    assert finding.rule == "yaml-syntax" and finding.severity is Severity.ERROR
    assert finding.line is not None and finding.line >= 5
    assert finding.message.startswith(f"line {finding.line}")


def test_a_list_document_is_rejected_as_not_a_mapping():
    _, findings = decode("- apiVersion: v1\n  kind: ConfigMap\n")
    [finding] = findings
    assert finding.rule == "document-not-mapping"
    assert "sequence" in finding.message and "expected a mapping" in finding.message


def test_dates_stay_strings_as_the_api_server_reads_them():
    documents, _ = decode("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  day: 2024-01-01\n")
    assert documents[0].body["data"]["day"] == "2024-01-01"


def test_non_utf8_bytes_are_one_clear_finding():
    _, findings = decode(b"apiVersion: v1\nkind: \xff\xfe\n")
    [finding] = findings
    assert finding.rule == "yaml-encoding" and "0xff" in finding.message


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)),
    max_leaves=30,
)


def _assert_only_findings(data: str | bytes) -> None:
    documents, findings = decode(data)
    assert all(isinstance(f, Finding) and f.message for f in findings)
    assert all(isinstance(d.body, dict) for d in documents)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_garbage_bytes_never_raise(data: bytes):
    _assert_only_findings(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str):
    _assert_only_findings(text)


@settings(max_examples=200, deadline=None)
@given(yaml_values)
def test_random_yaml_values_never_raise(value):
    import yaml

    _assert_only_findings(yaml.safe_dump(value) + "---\n" + yaml.safe_dump([value]))


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=50, max_value=5000))
def test_deep_nesting_and_huge_scalars_never_raise(depth: int):
    _assert_only_findings("a: " + "[" * depth + "]" * depth)
    _assert_only_findings("a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, depth // 10)))
    _assert_only_findings("data: " + "x" * (depth * 1000))
