"""Fixtures: every overlay and argocd/ rendered once per session with the real kustomize."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from raygitops.inputs.render import render

from .bundle import MONITORED_OVERLAYS, OVERLAYS, Bundle

REPO_ROOT = Path(__file__).resolve().parents[2]

_cache: dict[str, Bundle] = {}


def rendered(relative_path: str) -> Bundle:
    """The kustomization at `relative_path`, rendered the way `make render` and `kubectl apply -k` do."""
    if relative_path not in _cache:
        text = render(REPO_ROOT / relative_path)
        documents = [doc for doc in yaml.safe_load_all(text) if doc]
        _cache[relative_path] = Bundle(relative_path, text, documents)
    return _cache[relative_path]


@pytest.fixture(scope="session")
def overlays() -> dict[str, Bundle]:
    return {name: rendered(f"overlays/{name}") for name in OVERLAYS}


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> Bundle:
    return rendered(f"overlays/{request.param}")


@pytest.fixture(scope="session", params=MONITORED_OVERLAYS)
def monitored_overlay(request: pytest.FixtureRequest) -> Bundle:
    """An overlay that composes components/monitoring (dev leaves it out: it runs without the Prometheus Operator)."""
    return rendered(f"overlays/{request.param}")


@pytest.fixture(scope="session")
def argocd() -> Bundle:
    return rendered("argocd")
