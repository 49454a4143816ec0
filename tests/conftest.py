"""Shared fixtures: where the repository and the pinned CRD mirror are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def crd_mirror() -> Path:
    """The byte-exact upstream CRDs: $RAYGITOPS_CRD_MIRROR, else ../shared/crds beside the clone."""
    configured = os.environ.get("RAYGITOPS_CRD_MIRROR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "crds"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
