"""The fast decoding path gives exactly the reference decoder's documents and findings.

`raygitops validate` decodes through `fast_documents.load_stream_fast`; the
reference is `documents.load_stream` (PyYAML, YAML 1.1). Same documents (index,
line, body) and same findings mean every later stage reports the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from raygitops.inputs.documents import load_stream
from raygitops.inputs.fast_documents import load_stream_fast
from tests.rules.cases import CASES

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_validate import generate_bundle  # noqa: E402

BENCH_SIZES = (500, 2000, 8000, 20000)  # what `make bench-validate` times


def decoded(load, data: str | bytes) -> tuple[list[tuple[int, int, object]], list]:
    documents, findings = load(data, "f.yaml")
    return [(d.index, d.line, d.body) for d in documents], findings


def assert_same(data: str | bytes) -> None:
    assert decoded(load_stream_fast, data) == decoded(load_stream, data)


@pytest.mark.parametrize("size", BENCH_SIZES)
def test_benchmark_bundles_decode_the_same(size: int):
    assert_same(yaml.safe_dump_all(generate_bundle(size), sort_keys=False).encode())


@pytest.mark.parametrize("path", sorted((REPO / "rendered").glob("*.yaml")), ids=lambda p: p.name)
def test_rendered_overlays_decode_the_same(path: Path):
    assert_same(path.read_bytes())


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fixtures_decode_the_same(rule_id: str):
    assert_same(CASES[rule_id].passing)
    assert_same(CASES[rule_id].failing)


# Streams where YAML 1.1 and 1.2 disagree, or only the reference decoder words the finding.
TRICKY = [
    "a: yes\nb: No\nc: ON\nd: off\n",  # YAML 1.1 booleans
    "mode: 0755\nx: 012\ny: 08\nz: 0o17\n",  # octal, leading zeros
    "n: 1_000\nt: 1:20\nf: 1e3\ng: 1.0e3\nh: -.5\ni: .Inf\n",  # digit groups, sexagesimal, floats
    "a: &x {b: 1}\nc: *x\n",  # anchors and aliases
    "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n",  # merge keys
    "a: !!str 5\nb: !!binary aGk=\n",  # tags
    "a: =\n",  # the YAML 1.1 value key
    "? [1]\n: 2\n",  # complex key
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",  # duplicate key
    "apiVersion: v1\n---\nkind: [unclosed\n---\nc: 1\n",  # syntax error in the second document
    "- a\n- b\n",  # not a mapping
    "1: a\n",  # a number as top-level key
    "---\n---\napiVersion: v1\nkind: ConfigMap\n---\n",  # empty documents count
    "# head comment\n\n---\n# c\n\na: 1\n---\n\n  b: 2\n...\n",  # comments, blank lines, document end
    "%YAML 1.1\n---\na: 1\n",  # directive
    "--- {a: 1}\n---\nb: 2\n",  # content on the marker line
    "a: \"tab\\there \\x41 \\u00e9\"\nb: 'it''s'\nc: \"q\\\"\\n\"\n",  # escapes
    "a: |\n  line\n  ---not a marker\n\nb: >-\n  folded\n  text\n",  # block scalars
    "a: plain\n  continued\nb: \"multi\n  line\"\n",  # multi-line scalars
    "a: \t1\n",  # tab
    "a: 1\r\nb: 2\r\n",  # CRLF
    "a: caf\u00e9\n",  # non-ASCII
    "\ufeffa: 1\n",  # byte order mark
    "date: 2024-01-01\nts: 2024-01-01T10:00:00Z\n",  # timestamps stay strings
    "a: [" * 40 + "]" * 40 + "\n",  # deep flow nesting
    "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)),  # deep block nesting
    "a: 12345678901234567890\nb: 0x1F\nc: 0b101\nd: +12\ne: 3.\n",  # big and prefixed integers
    "a: ~\nb: null\nc: Null\nd:\ne: True\nf: FALSE\n",  # nulls and booleans both versions read alike
    "a: '@x'\nb: `x\n",  # reserved indicators
    "a: \x07\n",  # a control character
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_streams_decode_the_same(text: str):
    assert_same(text)
    assert_same(text.encode("utf-8"))


_scalars = st.sampled_from(
    ["yes", "no", "on", "Off", "y", "true", "True", "null", "~", "0755", "012", "08", "0o7", "0x1f", "1_0",
     "1:20", "1e3", "1.0e+3", "-.5", ".5", ".inf", ".NaN", "1.", "+1", "-0", "'0755'", '"yes"', "<<", "=",
     "a b", "x#y", "a: b", "2024-01-01", "12345678901234567890", "v1", "-", "''"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "on", "1", "yes", "'k'"]), _scalars), max_size=6),
       st.booleans())
def test_random_plain_scalars_decode_the_same(pairs: list[tuple[str, str]], flow: bool):
    if flow:
        text = "m: {" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}\n"
    else:
        text = "".join(f"{k}: {v}\n" for k, v in pairs)
    assert_same("apiVersion: v1\n---\n" + text)


_STREAM_PIECES = st.sampled_from(
    ["---", "...", "\n", " ", "kind: K", "# c", "----", "--- x", "-", ".", "x", "\n---\n", "\n...", "\n--- #c\n"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_STREAM_PIECES, max_size=14))
def test_random_document_markers_split_the_same(pieces: list[str]):
    """`---` and `...` wherever they may stand: the documents, their lines and the errors are PyYAML's."""
    assert_same("".join(pieces))
