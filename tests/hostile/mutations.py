"""Structural mutations of real manifests, and one fuzz run of the whole validator on the result.

Shared by the hypothesis test (a few dozen inputs, every `make test`) and the
`make fuzz` campaign (thousands). Seeds are the rendered overlays and the rule
fixtures; a mutation picks a node of a document and replaces it with a hostile
value (non-finite or huge numbers, control characters, long strings, deep
nesting), removes it, or shares it with another place so that the YAML text
carries anchors and aliases (an alias bomb when nested). Merge keys, duplicate
keys and flipped bytes are applied to the text.
"""

from __future__ import annotations

import json
import random
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from raygitops.engine import Options, Report, validate
from raygitops.inputs.documents import load_stream
from raygitops.inputs.sources import Source
from raygitops.options import FORMATS
from raygitops.report.output import format_report
from raygitops.schema.store import SchemaStore

REPO_ROOT = Path(__file__).resolve().parents[2]
RULE_CRASHED = "rule-crashed"

_CONTROL_TEXT = ("\x1b[2J", "\r", "\x00", "\x07", "\x85", "\u2028", "\ufffe", "\x1b]0;title\x07", "line\nbreak")
_HOSTILE_SCALARS: tuple[Any, ...] = (
    float("nan"), float("inf"), float("-inf"), 10**400, -(10**40), 2**63, 1e308, -0.0, 0, -1, True, None, "",
    "0x1F", "1e999", "9" * 5000, "x" * 100_000, "..", "/", "a/b", "ray.io/v1", "Gi", "500m", "-1",
)


def seeds() -> list[str]:
    """The YAML texts mutations start from: every rendered overlay (one document each) and every rule fixture."""
    from tests.rules.cases import CASES

    texts: list[str] = []
    for path in sorted((REPO_ROOT / "rendered").glob("*.yaml")):
        texts.extend(t for t in path.read_text().split("\n---\n") if t.strip())
    for case in CASES.values():
        texts.extend((case.passing, case.failing))
    return texts


def _nodes(value: Any) -> list[tuple[tuple[Any, ...], Any]]:
    """(path, value) of a document's nodes, parents first; a shared subtree is entered once (no expansion)."""
    found: list[tuple[tuple[Any, ...], Any]] = []
    entered: set[int] = set()
    pending: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while pending and len(found) < 5000:
        path, node = pending.pop()
        found.append((path, node))
        if isinstance(node, (dict, list)) and id(node) not in entered:
            entered.add(id(node))
            items = node.items() if isinstance(node, dict) else enumerate(node)
            pending.extend(((*path, key), item) for key, item in items)
    return found


def _set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = root
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return root


def _hostile_value(rng: random.Random, nodes: list[tuple[tuple[Any, ...], Any]]) -> Any:
    choice = rng.randrange(8)
    if choice < 3:
        return rng.choice(_HOSTILE_SCALARS)
    if choice == 3:
        return rng.choice(_CONTROL_TEXT) + rng.choice(("name", "", "ray-head"))
    if choice == 4:  # deep nesting, list or mapping
        depth = rng.choice((50, 99, 150, 400))
        value: Any = rng.choice(_HOSTILE_SCALARS[:6])
        for _ in range(depth):
            value = [value] if rng.random() < 0.5 else {"k": value}
        return value
    if choice == 5:  # an alias bomb: each level shares the one below ten times
        value = ["x"] * 10
        for _ in range(rng.randrange(2, 8)):
            value = [value] * 10
        return value
    if choice == 6:  # share an existing subtree: the dump writes an anchor and an alias
        return rng.choice(nodes)[1]
    return rng.choice(({}, [], {"": None}, {rng.choice(_CONTROL_TEXT): 1}, [None, [], {}]))


def mutate_document(body: Any, rng: random.Random, count: int) -> Any:
    for _ in range(count):
        nodes = _nodes(body)
        path, _ = rng.choice(nodes)
        if path and rng.random() < 0.15:  # remove it
            parent = body
            for part in path[:-1]:
                parent = parent[part]
            del parent[path[-1]]
        else:
            body = _set(body, path, _hostile_value(rng, nodes))
    return body


def _dump(body: Any, fallback: str) -> str:
    """YAML text of `body`, shared subtrees as anchors and aliases; `fallback` if it cannot be written."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # the representer recurses once per level of deep nesting
    try:
        return yaml.safe_dump(body, sort_keys=False, allow_unicode=False, width=1000)
    except (yaml.YAMLError, RecursionError, ValueError):
        return fallback  # never json.dumps: it would expand every alias
    finally:
        sys.setrecursionlimit(limit)


def mutate_text(text: str, rng: random.Random) -> str:
    """Text-level mutations: merge keys, a duplicate key, a tag, flipped bytes, a second document."""
    choice = rng.randrange(10)
    if choice == 0:
        return text + "x-base: &base {a: 1, b: [1, 2]}\nx-merged:\n  <<: *base\n  c: 3\n"
    if choice == 1:
        return text + "kind: Duplicate\n"
    if choice == 2:
        return text.replace(": ", ": !!binary ", 1)
    if choice == 3 and text:
        data = bytearray(text.encode())
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return data.decode("utf-8", errors="surrogateescape")
    if choice == 4:
        return text + "---\n" + text
    return text


def mutated_stream(seed_texts: list[str], rng: random.Random) -> str:
    text = rng.choice(seed_texts)
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError:
        body = None
    if isinstance(body, (dict, list)):
        text = _dump(mutate_document(body, rng, rng.randrange(1, 4)), text)
    return mutate_text(text, rng)


@dataclass
class Outcome:
    documents: int
    rule_crashed: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)  # output formats that were not well-formed


def run_once(text: str, store: SchemaStore, profile: str = "default") -> Outcome:
    """The whole validator on `text` (decode, every stage, every output format); raises on a crash."""
    data: str | bytes = text.encode("utf-8", errors="surrogateescape")
    documents, findings = load_stream(data, "fuzz.yaml")
    report: Report = validate([Source("fuzz.yaml", documents, findings)], store, Options(profile=profile))
    outcome = Outcome(len(documents) + sum(1 for f in findings if f.index is not None))
    outcome.rule_crashed = [f.message for f in report.findings if f.rule == RULE_CRASHED]
    for output in FORMATS:
        rendered = format_report(report, output)
        if not _well_formed(output, rendered):
            outcome.malformed.append(output)
    return outcome


def _well_formed(output: str, rendered: str) -> bool:
    try:
        if output in ("json", "sarif"):
            json.loads(rendered)
        elif output == "junit":
            ET.fromstring(rendered.split("?>", 1)[1])
        else:
            rendered.encode("utf-8")
            if any(ch in rendered for ch in "\x1b\r\x00\x07\x85"):
                return False
    except (ValueError, ET.ParseError, UnicodeEncodeError):
        return False
    return True
