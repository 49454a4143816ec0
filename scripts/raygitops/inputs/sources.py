"""Sources: what `raygitops validate PATH...` reads, as decoded bundles.

A PATH is a kustomization folder (rendered first), a YAML file, a folder of
YAML files and kustomizations, or `-` for standard input. Each kustomization
and each file is one bundle: the unit inside which references must resolve.

A folder walk stays inside the folder: it follows no symlink out of it or
around a loop, and reads only regular files. What it skips (a FIFO, a device,
a dangling link, a link leaving the tree) is a finding, and the run goes on.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..checks.native.templates import UNRENDERED_TEMPLATE
from ..checks.registry import DECODE, RENDER, Subject, declare
from ..findings import Finding, Severity
from ..values import quote
from .documents import NOT_A_MANIFEST, Document
from .fast_documents import DocumentCheck, DocumentSpans, load_stream_with_spans
from .origins import Origin, render_with_origins, take_origins
from .remote import remote_resources
from .render import Renderer, RendererMissing, RenderError, find_renderer, is_kustomization

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
declare(
    "kustomize-remote-resource",
    """A kustomization must not fetch remote resources (URLs, git) unless --allow-remote.

    Why: a remote resource is fetched while the pull request is validated, from wherever its author points, and
    can change after the review; rendering is offline by default (http, https, git and file URLs are refused,
    in nested kustomizations too), and the kustomization is not rendered.

    Fails:
        resources:
        - https://github.com/example/manifests//ray?ref=main

    Instead:
        resources:
        - ../../vendor/ray  # vendored into the repository (or pass --allow-remote)
    """,
    category=RENDER,
    subject=Subject.STREAM,
)
declare(
    "path-skipped",
    """Every path must be a readable regular file or folder inside the tree (no FIFO, device or dangling link).

    Why: a FIFO or a device can block or never end a read, a dangling link has nothing to read, and a link out of
    the folder or around a loop makes the walk read outside the repository or forever; such a path is skipped with
    this finding and the rest of the run goes on.

    Fails:
        manifests/raycluster.yaml -> /dev/zero
        manifests/old.yaml -> ../../deleted.yaml  # dangling

    Instead:
        manifests/raycluster.yaml  # a regular file inside the folder
    """,
    category=DECODE,
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
    spans: DocumentSpans | None = None  # where each document is in the bytes read, when the fast decoder split them
    # Document index -> the findings of the per-document checks, for the documents that have any, when
    # every document was checked as it was decoded (`load_paths(check=...)`); None: the engine checks them.
    checked: dict[int, list[Finding]] | None = None
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
    allow_remote: bool = False,
    jobs: int = 1,
    check: DocumentCheck | None = None,
) -> list[Source]:
    """Decode every PATH into sources, in the order given; kustomize failures become findings.

    Kustomizations render concurrently: each is a separate kustomize process and
    rendering is most of the wall time of `make validate`. Without
    `allow_remote`, a kustomization that names a remote resource is not rendered.
    A long stream is decoded on up to `jobs` cores, and `check` runs on each document of a file or of
    standard input as soon as it is decoded, in the process that decoded it (a kustomization's output is
    checked by the engine, once its origin annotations are taken off).
    """
    targets: list[Path | str] = []
    skipped: list[Source] = []
    for raw in paths:
        if raw == "-":
            targets.append("-")
            continue
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise SourceError(f"{raw}: no such file or folder")
        found = _expand(path, skipped)
        if exclude is not None and path.is_dir() and not is_kustomization(path):
            left_out = exclude(found)  # only what a folder walk finds: a PATH named on purpose is kept
            found = [p for p in found if p not in left_out]
        targets.extend(found)
    renderer = _renderer() if any(isinstance(t, Path) and is_kustomization(t) for t in targets) else None
    folders = [t for t in targets if isinstance(t, Path) and t.is_dir() and not is_helm_chart(t)]

    def render(folder: Path) -> Source | Rendered:
        assert renderer is not None
        return _render(folder, renderer, allow_remote)

    # Kustomize runs in threads, a process each; decoding stays on this thread, where a long stream
    # may be decoded on every core (forked children must not inherit other threads' locks).
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        rendered = dict(zip(folders, pool.map(render, folders), strict=True))

    def load(target: Path | str) -> Source:
        if target == "-":
            return _decode("-", stdin if stdin is not None else sys.stdin.buffer.read(), jobs, check)
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
        if target in rendered:
            output = rendered[target]
            return output if isinstance(output, Source) else _decode_rendered(output, jobs)
        # Read into a buffer that decoding empties when done with it (see `load_stream_with_spans`).
        return _decode(str(target), _read_buffer(target), jobs, check, reread=lambda: _read(target))

    return skipped + [load(target) for target in targets]


def _expand(path: Path, skipped: list[Source]) -> list[Path]:
    """Kustomization folders and regular YAML files under `path`; a kustomization is not entered.

    A PATH given by name is followed wherever it points; inside a folder, a link
    is followed only to a regular file or folder within `path`, and each folder
    is entered once, so neither a link out of the tree nor a loop is walked.
    """
    problem = _not_readable(path)
    if problem:
        skipped.append(_skipped(path, problem))
        return []
    if not path.is_dir() or is_kustomization(path) or is_helm_chart(path):
        return [path]
    root = path.resolve()
    found: list[Path] = []
    entered: set[Path] = set()
    pending = [path]
    while pending:
        folder = pending.pop()
        real = folder.resolve()
        if real in entered:
            continue
        entered.add(real)
        try:
            children = sorted(folder.iterdir())
        except OSError as exc:
            skipped.append(_skipped(folder, f"cannot list it: {exc.strerror or exc}"))
            continue
        folders: list[Path] = []
        for child in children:
            if child.is_symlink():
                target = Path(os.path.realpath(child))
                if not target.exists():
                    skipped.append(_skipped(child, "a symbolic link to nothing (dangling)"))
                    continue
                if target != root and root not in target.parents:
                    skipped.append(_skipped(child, f"a symbolic link out of {path}; not followed"))
                    continue
            if child.is_dir():
                if child.name in SKIPPED_FOLDERS:
                    continue
                if is_kustomization(child) or is_helm_chart(child):
                    found.append(child)
                else:
                    folders.append(child)
            elif child.suffix in YAML_SUFFIXES and child.name not in KUSTOMIZE_FILES:
                problem = _not_readable(child)
                if problem:
                    skipped.append(_skipped(child, problem))
                else:
                    found.append(child)
        pending.extend(reversed(folders))  # depth first, in name order, as before
    return found


def is_helm_chart(path: Path) -> bool:
    return path.is_dir() and (path / "Chart.yaml").is_file() and not is_kustomization(path)


def _not_readable(path: Path) -> str | None:
    """Why `path` is not a regular file or folder to read; None when it is one."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a symbolic link to nothing (dangling)"
    except OSError as exc:  # a link loop, a permission problem
        return f"cannot read it: {exc.strerror or exc}"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    what = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    return f"{what}, not a regular file; not read"


def _skipped(path: Path, problem: str) -> Source:
    label = str(path)
    return Source(
        label, [], [Finding(severity=Severity.ERROR, rule="path-skipped", message=f"skipped: {problem}", source=label)]
    )


def _renderer() -> Renderer:
    try:
        return find_renderer()
    except RendererMissing as exc:
        raise SourceError(str(exc)) from exc


@dataclass
class Rendered:
    """A kustomization's output, not yet decoded."""

    folder: Path
    stream: str
    origin_root: Path


def _render(folder: Path, renderer: Renderer, allow_remote: bool = False) -> Source | Rendered:
    """The kustomization's output; or, when it cannot be rendered, its source with the finding that says why."""
    label = str(folder)
    remote = [] if allow_remote else remote_resources(folder)
    if remote:
        return Source(
            label,
            [],
            [
                Finding(
                    severity=Severity.ERROR,
                    rule="kustomize-remote-resource",
                    source=label,
                    message=f"{r.kustomization}: {r.field} entry {quote(r.entry, 200)} is a remote resource; rendering is offline "
                    "by default (pass --allow-remote to fetch it, or vendor it into the repository)",
                )
                for r in remote
            ],
        )
    try:
        stream, origin_root = render_with_origins(folder, renderer)
    except RenderError as exc:
        failure = Finding(severity=Severity.ERROR, rule="kustomize-build", message=str(exc), source=label)
        return Source(label, [], [failure], is_kustomization=True, rendered=True)
    return Rendered(folder, stream, origin_root)


def _decode_rendered(output: Rendered, jobs: int) -> Source:
    source = _decode(str(output.folder), output.stream, jobs)
    source.rendered = True
    source.origins = take_origins(source.documents, output.origin_root)
    # A Component is a part of overlays, not a whole deployment: what it references is in the overlay.
    source.is_kustomization = not _is_component(output.folder)
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


def _text_again(data: str | bytes | bytearray, reread: Callable[[], bytes] | None) -> bytes:
    """The stream's bytes, read again if decoding emptied the buffer they were in."""
    if isinstance(data, str):
        return data.encode("utf-8", "replace")
    return bytes(data) if data or reread is None else reread()


def _read_buffer(path: Path) -> bytearray:
    try:
        with path.open("rb") as file:
            buffer = bytearray()
            while block := file.read(1 << 20):
                buffer += block
            return buffer
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror or exc}") from exc


_GO_TEMPLATE_ACTION = re.compile(rb"\{\{-?\s*[.$A-Za-z(/].*?\}\}")


# kustomize's own file kinds (Kustomization, Component): its input, never an object of the API server.
KUSTOMIZE_API_GROUP = "kustomize.config.k8s.io/"


def _decode(
    label: str,
    data: str | bytes | bytearray,
    jobs: int = 1,
    check: DocumentCheck | None = None,
    reread: Callable[[], bytes] | None = None,
) -> Source:
    decoded = load_stream_with_spans(data, label, jobs, check, reread)
    documents, findings = decoded.documents, decoded.findings
    kustomize_files = [d for d in documents if d.api_version.startswith(KUSTOMIZE_API_GROUP)]
    if kustomize_files:
        documents = [d for d in documents if not d.api_version.startswith(KUSTOMIZE_API_GROUP)]
        findings = findings + [
            Finding(
                severity=Severity.WARNING,
                rule=NOT_A_MANIFEST,
                source=label,
                index=d.index,
                line=d.line,
                message=f"skipped: a {d.kind or 'kustomize file'} is kustomize's input, not a manifest; "
                "validate its folder to render it",
            )
            for d in kustomize_files
        ]
    syntax = [f for f in findings if f.rule == "yaml-syntax"]
    if syntax and _GO_TEMPLATE_ACTION.search(_text_again(data, reread)):
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
    return Source(label, documents, findings, spans=decoded.spans, checked=decoded.checked)
