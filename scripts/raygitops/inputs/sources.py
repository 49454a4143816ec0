"""Sources: what `raygitops validate PATH...` reads, as decoded bundles.

A PATH is a kustomization folder (rendered first), a YAML file, a folder of
YAML files and kustomizations, or `-` for standard input. Each kustomization
and each file is one bundle: the unit inside which references must resolve.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..checks.native.templates import UNRENDERED_TEMPLATE
from ..checks.registry import RENDER, Subject, declare
from ..findings import Finding, Severity
from .documents import Document
from .fast_documents import load_stream_fast
from .render import Renderer, RendererMissing, RenderError, find_renderer, is_kustomization, render

YAML_SUFFIXES = (".yaml", ".yml")
# Kustomize's own configuration files are not resources; they never reach the cluster.
KUSTOMIZE_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization", "kustomizeconfig.yaml")
# Never entered in a folder walk: they hold tools and history, not the repository's manifests.
SKIPPED_FOLDERS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".cache"})
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
HELM_CHART = declare(
    "helm-chart",
    """A Helm chart folder holds templates, not manifests: render it with `helm template` and validate the output.

    Why: a chart's templates are Go templates that are not YAML until Helm renders them with its values; judged as
    they are, every `{{ }}` would be a syntax error. The folder gets one finding instead.

    Fails:
        raygitops validate charts/ray-cluster/   # a folder with Chart.yaml and templates/

    Instead:
        helm template ray charts/ray-cluster/ -f values.yaml > rendered/ray.yaml
        raygitops validate rendered/ray.yaml
    """,
    category=RENDER,
    subject=Subject.STREAM,
    severity=Severity.WARNING,
)


class SourceError(Exception):
    """A PATH cannot be read at all (missing, unreadable, or no renderer): exit 2."""


@dataclass
class Source:
    """One bundle as read: its decoded documents and the findings decoding produced."""

    label: str
    documents: list[Document] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # A kustomization's render is the whole of what gets applied, so it holds every object its
    # resources reference; files given one by one may reference objects applied from elsewhere.
    is_kustomization: bool = False
    is_component: bool = False

    def describe(self, complete: bool) -> str:
        """What the bundle is, and how missing references are judged, for the report."""
        what = (
            "a kustomization's render"
            if self.is_kustomization
            else "a Kustomize component's render (a part of overlays)"
            if self.is_component
            else "standard input"
            if self.label == "-"
            else "the file alone"
        )
        if complete:
            return f"{what}, complete: a reference to an object not in it is an error"
        return f"{what}: a reference to an object not in it is a warning (--complete makes it an error)"


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


def load_paths(
    paths: list[str],
    stdin: bytes | None = None,
    exclude: Callable[[list[Path]], set[Path]] | None = None,
) -> list[Source]:
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
        found = _expand(path)
        if exclude is not None and path.is_dir() and not is_kustomization(path):
            left_out = exclude(found)  # only what a folder walk finds: a PATH named on purpose is kept
            found = [p for p in found if p not in left_out]
        targets.extend(found)
    renderer = _renderer() if any(isinstance(t, Path) and is_kustomization(t) for t in targets) else None

    def load(target: Path | str) -> Source:
        if target == "-":
            return _decode("-", stdin if stdin is not None else sys.stdin.buffer.read())
        assert isinstance(target, Path)
        if is_helm_chart(target):
            return Source(
                str(target),
                [],
                [
                    Finding(
                        severity=Severity.WARNING,
                        rule=HELM_CHART,
                        source=str(target),
                        message="a Helm chart, not manifests: render it with `helm template` and validate the output",
                    )
                ],
            )
        if target.is_dir():
            assert renderer is not None
            return _render(target, renderer)
        return _decode(str(target), _read(target))

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(load, targets))


def _expand(path: Path) -> list[Path]:
    """Kustomization folders and YAML files under `path`; a kustomization is not entered."""
    if path.is_file() or is_kustomization(path) or is_helm_chart(path):
        return [path]
    found: list[Path] = []
    for child in sorted(path.iterdir()):
        if child.is_dir() and child.name not in SKIPPED_FOLDERS:
            found.extend(_expand(child))
        elif child.suffix in YAML_SUFFIXES and child.name not in KUSTOMIZE_FILES:
            found.append(child)
    return found


def is_helm_chart(path: Path) -> bool:
    return path.is_dir() and (path / "Chart.yaml").is_file() and not is_kustomization(path)


def _renderer() -> Renderer:
    try:
        return find_renderer()
    except RendererMissing as exc:
        raise SourceError(str(exc)) from exc


def _render(folder: Path, renderer: Renderer) -> Source:
    label = str(folder)
    try:
        stream = render(folder, renderer)
    except RenderError as exc:
        failure = Finding(severity=Severity.ERROR, rule="kustomize-build", message=str(exc), source=label)
        return Source(label, [], [failure], is_kustomization=True)
    source = _decode(label, stream)
    # A Component is a part of overlays, not a whole deployment: what it references is in the overlay.
    source.is_kustomization = not _is_component(folder)
    source.is_component = not source.is_kustomization
    return source


def _is_component(folder: Path) -> bool:
    for name in KUSTOMIZE_FILES[:3]:
        path = folder / name
        if path.is_file():
            try:
                return "kind: Component" in path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return False
    return False


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from exc


_GO_TEMPLATE_ACTION = re.compile(rb"\{\{-?\s*[.$A-Za-z(/].*?\}\}")


def _decode(label: str, data: str | bytes) -> Source:
    documents, findings = load_stream_fast(data, label)
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    syntax = [f for f in findings if f.rule == "yaml-syntax"]
    if syntax and _GO_TEMPLATE_ACTION.search(raw):
        # A Helm or Go template is not YAML until rendered: one finding, not its syntax errors.
        findings = [f for f in findings if f.rule != "yaml-syntax"] + [
            Finding(
                severity=Severity.WARNING,
                rule=UNRENDERED_TEMPLATE,
                source=label,
                index=syntax[0].index,
                line=syntax[0].line,
                message="unrendered template ({{ ... }}) that is not YAML yet: render it with helm template or envsubst first",
            )
        ]
    return Source(label, documents, findings)
