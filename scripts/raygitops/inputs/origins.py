"""Origins: which file under base/, components/ or the overlay each rendered resource comes from.

kustomize records it when a kustomization asks for `buildMetadata: [originAnnotations]`.
The user's kustomization is not ours to edit, so a temporary wrapper kustomization
names the target as its only resource and asks for the annotations; the
annotation is taken off each object again before any check sees it, so the
objects validated are exactly those `kubectl apply -k` sends.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from .documents import Document
from .render import Renderer, RenderError, render

ORIGIN_ANNOTATION = "config.kubernetes.io/origin"


@dataclass(frozen=True)
class Origin:
    """The file a rendered object was read from (or the kustomization whose generator made it)."""

    path: str  # as the user names it: relative to the working folder when inside it
    generator: str = ""  # "ConfigMapGenerator" etc. when kustomize generated the object


def render_with_origins(folder: Path, renderer: Renderer) -> tuple[str, Path]:
    """The rendered stream with origin annotations, and the folder their paths are relative to."""
    with tempfile.TemporaryDirectory(prefix="raygitops-origins-") as scratch:
        wrapper = Path(scratch)
        # kustomize refuses an absolute path as a resource: name the target relative to the wrapper.
        target = os.path.relpath(folder.resolve(), wrapper.resolve())
        (wrapper / "kustomization.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [target],
                    "buildMetadata": ["originAnnotations"],
                }
            )
        )
        try:
            return render(wrapper, renderer), wrapper.resolve()
        except RenderError:
            pass
    # The target itself does not build: render it plainly so the message is kustomize's about the user's files.
    return render(folder, renderer), folder.resolve()


def take_origins(documents: list[Document], root: Path) -> dict[int, Origin]:
    """Remove the origin annotation from every document; return each document's origin by index."""
    origins: dict[int, Origin] = {}
    for document in documents:
        metadata = document.body.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        if not isinstance(annotations, dict) or ORIGIN_ANNOTATION not in annotations:
            continue
        raw = annotations.pop(ORIGIN_ANNOTATION)
        if not annotations and isinstance(metadata, dict):
            del metadata["annotations"]
        origin = _parse(raw, root)
        if origin is not None:
            origins[document.index] = origin
    return origins


def _parse(raw: object, root: Path) -> Origin | None:
    try:
        data = yaml.safe_load(raw) if isinstance(raw, str) else None
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict) or data.get("repo"):  # a remote resource: no file here to point at
        return None
    if isinstance(data.get("path"), str):
        return Origin(_user_path(root, data["path"]))
    if isinstance(data.get("configuredIn"), str):
        by = data.get("configuredBy")
        return Origin(_user_path(root, data["configuredIn"]), str(by.get("kind", "")) if isinstance(by, dict) else "")
    return None


def _user_path(root: Path, relative: str) -> str:
    absolute = Path(os.path.normpath(root / relative))
    try:
        return str(absolute.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(absolute)
