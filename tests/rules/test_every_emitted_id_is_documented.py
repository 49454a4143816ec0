"""Every rule id the validator emits, on every fixture and sample of the suite, is a declared check:
listed by `raygitops rules` with its doc, and given a section in docs/rules.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raygitops.cli import main
from raygitops.engine import Options, validate
from raygitops.inputs.documents import load_stream
from raygitops.inputs.sources import Source

from .cases import CASES

REPO = Path(__file__).resolve().parents[2]
RULES_DOC = REPO / "docs" / "rules.md"


def samples() -> dict[str, str]:
    """Every YAML stream the suite keeps: the rule fixtures, the fixture files, the rendered overlays."""
    texts = {}
    for rule_id, case in CASES.items():
        texts[f"{rule_id}/passing"] = case.passing
        texts[f"{rule_id}/failing"] = case.failing
    for pattern in ("tests/**/fixtures/**/*.yaml", "rendered/*.yaml"):
        for path in sorted(REPO.glob(pattern)):
            texts[str(path.relative_to(REPO))] = path.read_text(encoding="utf-8")
    return texts


@pytest.fixture(scope="module")
def emitted_ids(schema_store) -> set[str]:
    ids: set[str] = set()
    for label, text in samples().items():
        documents, findings = load_stream(text, label)
        for profile in ("default", "prod"):
            report = validate([Source(label, documents, findings)], schema_store, Options(profile=profile))
            ids.update(f.rule for f in report.findings)
    return ids


@pytest.fixture(scope="module")
def listed_checks() -> dict[str, dict[str, str]]:
    capture = pytest.MonkeyPatch()
    import io
    import sys

    out = io.StringIO()
    capture.setattr(sys, "stdout", out)
    try:
        assert main(["rules", "-o", "json"]) == 0
    finally:
        capture.undo()
    return {row["id"]: row for row in json.loads(out.getvalue())}


def test_the_samples_exercise_many_checks(emitted_ids) -> None:
    assert len(emitted_ids) >= 80, sorted(emitted_ids)  # the Ray rules' failing fixtures, and core checks they trip


def test_every_emitted_id_is_listed_by_raygitops_rules_with_its_doc(emitted_ids, listed_checks) -> None:
    assert sorted(emitted_ids - listed_checks.keys()) == []
    for rule_id in emitted_ids:
        row = listed_checks[rule_id]
        assert row["doc"] and row["severity"] in ("error", "warning") and row["help_uri"].endswith(f"#{rule_id}")


def test_every_emitted_and_every_listed_id_has_a_section_in_the_rules_doc(emitted_ids, listed_checks) -> None:
    sections = {line.removeprefix("### `").removesuffix("`") for line in RULES_DOC.read_text().splitlines()
                if line.startswith("### `")}
    assert sorted((emitted_ids | listed_checks.keys()) - sections) == []
