"""rendered/ is the reviewed output: it must be exactly what the sources render today."""

from __future__ import annotations

import pytest

from .bundle import OVERLAYS
from .conftest import rendered

TARGETS = [*(f"overlays/{name}" for name in OVERLAYS), "cluster-setup", "argocd"]


@pytest.mark.parametrize("source", TARGETS)
def test_rendered_output_is_current(repo_root, source: str):
    committed = repo_root / "rendered" / f"{source.rsplit('/', 1)[-1]}.yaml"
    assert committed.is_file(), f"{committed.relative_to(repo_root)} is missing: run make render"
    is_current = committed.read_text() == rendered(source).text
    assert is_current, f"rendered/ is stale: run make render ({committed.name} differs from {source})"
