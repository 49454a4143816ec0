"""A schema store built once per test session from the pinned CRD mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from raygitops.schemastore import SchemaStore, fetch


@pytest.fixture(scope="session")
def schema_store(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> SchemaStore:
    configured = os.environ.get("RAYGITOPS_CRD_MIRROR")
    mirror = Path(configured) if configured else repo_root.parent / "shared" / "crds"
    if not mirror.is_dir():
        pytest.fail(f"the pinned CRD mirror is missing at {mirror}; set RAYGITOPS_CRD_MIRROR")
    cache = tmp_path_factory.mktemp("schema-store")
    fetch(cache_dir=cache, mirror=mirror)
    return SchemaStore.open(cache)
