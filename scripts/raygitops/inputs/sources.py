"""Sources: what `raygitops validate PATH...` reads, as decoded bundles.

A PATH is a kustomization folder (rendered first), a YAML file, a folder of
YAML files and kustomizations, or `-` for standard input. Each kustomization
and each file is one bundle: the unit inside which references must resolve.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..checks.registry import RENDER, Subject, declare
from ..findings import Finding, Severity
from .documents import Document, load_stream
from .origins import Origin, render_with_origins, take_origins
from .render import Renderer, RendererMissing, RenderError, find_renderer, is_kustomization

YAML_SUFFIXES = (".yaml", ".yml")
# Kustomize's own configuration files are not resources; they never reach the cluster.
KUSTOMIZE_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization", "kustomizeconfig.yaml")
# What `raygitops validate` with no PATH checks: every overlay, and the Argo CD bootstrap.
DEFAULT_TARGET_GLOBS = ("overlays/*", "argocd")


declare(
    "kustomize-build",
    """Every kustomization must build; the finding quotes kustomize's own message.

    Why: an overlay that does not build deploys nothing: Argo CD marks the application as failed and `kubectl
    apply -k` stops.

    Fails:
        resources:
        - ../../base/raycluster.yml   # no such file

    Instead:
        resources:
        - ../../base/raycluster.yaml
    """,
    category=RENDER,
    subject=Subject.STREAM,
)


class SourceError(Exception):
    """A PATH cannot be read at all (missing, unreadable, or no renderer): exit 2."""


@dataclass
class Source:
    """One bundle as read: its decoded documents and the findings decoding produced."""

    label: str
    documents: list[Document] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rendered: bool = False  # a kustomization: its documents' lines are kustomize's output, not a file's
    origins: dict[int, Origin] = field(default_factory=dict)  # document index -> the file it came from


def default_targets(root: Path) -> list[Path]:
    targets: list[Path] = []
    for pattern in DEFAULT_TARGET_GLOBS:
        targets.extend(p for p in sorted(root.glob(pattern)) if is_kustomization(p))
    return targets


def find_repo_root(start: Path) -> Path:
    """The nearest folder at or above `start` that has an overlays/ folder; else `start`."""
    for folder in (start, *start.parents):
        if (folder / "overlays").is_dir():
            return folder
    return start


def load_paths(paths: list[str], stdin: bytes | None = None) -> list[Source]:
    """Decode every PATH into sources, in the order given; kustomize failures become findings.

    Kustomizations render concurrently: each is a separate kustomize process and
    rendering is most of the wall time of `make validate`.
    """
    targets: list[Path | str] = []
    for raw in paths:
        if raw == "-":
            targets.append("-")
            continue
        path = Path(raw)
        if not path.exists():
            raise SourceError(f"{raw}: no such file or folder")
        targets.extend(_expand(path))
    renderer = _renderer() if any(isinstance(t, Path) and t.is_dir() for t in targets) else None

    def load(target: Path | str) -> Source:
        if target == "-":
            return _decode("-", stdin if stdin is not None else sys.stdin.buffer.read())
        assert isinstance(target, Path)
        if target.is_dir():
            assert renderer is not None
            return _render(target, renderer)
        return _decode(str(target), _read(target))

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(load, targets))


def _expand(path: Path) -> list[Path]:
    """Kustomization folders and YAML files under `path`; a kustomization is not entered."""
    if path.is_file() or is_kustomization(path):
        return [path]
    found: list[Path] = []
    for child in sorted(path.iterdir()):
        if child.is_dir():
            found.extend(_expand(child))
        elif child.suffix in YAML_SUFFIXES and child.name not in KUSTOMIZE_FILES:
            found.append(child)
    return found


def _renderer() -> Renderer:
    try:
        return find_renderer()
    except RendererMissing as exc:
        raise SourceError(str(exc)) from exc


def _render(folder: Path, renderer: Renderer) -> Source:
    label = str(folder)
    try:
        stream, origin_root = render_with_origins(folder, renderer)
    except RenderError as exc:
        failure = Finding(severity=Severity.ERROR, rule="kustomize-build", message=str(exc), source=label)
        return Source(label, [], [failure], rendered=True)
    source = _decode(label, stream)
    source.rendered = True
    source.origins = take_origins(source.documents, origin_root)
    return source


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _decode(label: str, data: str | bytes) -> Source:
    documents, findings = load_stream(data, label)
    return Source(label, documents, findings)
