"""Validate manifests as a user does: each written to a file and given alone (or as a kustomization)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raygitops.engine import Options, Report, validate
from raygitops.findings import Finding, Severity
from raygitops.inputs.sources import load_paths


class Validator:
    def __init__(self, store, folder: Path) -> None:
        self.store, self.folder = store, folder

    def file(self, text: str, name: str = "manifest.yaml", **options) -> Report:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return validate(load_paths([str(path)]), self.store, Options(**options))


@pytest.fixture
def validator(schema_store, tmp_path: Path) -> Validator:
    return Validator(schema_store, tmp_path)


def errors(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.severity is Severity.ERROR]


def of_rule(report: Report, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]
