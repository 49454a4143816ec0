"""Shared fixtures: where the repository is, and one schema store per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from raygitops.schema.store import SchemaStore, fetch

REPO_ROOT = Path(__file__).resolve().parents[1]


def crd_mirror() -> Path:
    """The byte-exact upstream CRDs: $RAYGITOPS_CRD_MIRROR, else ../shared/crds beside the clone."""
    configured = os.environ.get("RAYGITOPS_CRD_MIRROR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "crds"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def schema_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store fetched from the mirror into a temporary folder, once per session (no network)."""
    mirror = crd_mirror()
    if not mirror.is_dir():
        pytest.fail(f"the pinned CRD mirror is missing at {mirror}; set RAYGITOPS_CRD_MIRROR")
    cache = tmp_path_factory.mktemp("schema-store")
    fetch(cache_dir=cache, mirror=mirror)
    return cache


@pytest.fixture(scope="session")
def schema_store(schema_cache_dir: Path) -> SchemaStore:
    return SchemaStore.open(schema_cache_dir)


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    return crd_mirror()
