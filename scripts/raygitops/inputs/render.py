"""Render: turn a kustomization folder into a YAML stream with kustomize.

`kustomize build` with the pinned build of `make tools` (see tools.py), else a
kustomize on PATH, else `kubectl kustomize` (kubectl ships kustomize built in),
so the output is exactly what `kubectl apply -k` sends.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..tools import find_tool

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
RENDER_TIMEOUT_S = 120


class RenderError(Exception):
    """Rendering failed: kustomize's own message, prefixed by the folder."""


class RendererMissing(RenderError):
    """Neither kustomize nor kubectl is installed: the run cannot go on (exit 2)."""


@dataclass(frozen=True)
class Renderer:
    command: tuple[str, ...]

    @property
    def name(self) -> str:
        """How the user would type it: "kustomize build" or "kubectl kustomize"."""
        return " ".join([Path(self.command[0]).name, *self.command[1:]])


def is_kustomization(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in KUSTOMIZATION_FILES)


def find_renderer() -> Renderer:
    kustomize = find_tool("kustomize")
    if kustomize:
        return Renderer((kustomize, "build"))
    kubectl = find_tool("kubectl")
    if kubectl:
        return Renderer((kubectl, "kustomize"))
    raise RendererMissing(
        "neither 'kustomize' nor 'kubectl' was found: run `make tools` (builds the pinned kustomize into .venv/bin), "
        "or install kubectl (https://kubernetes.io/docs/tasks/tools/) or kustomize on PATH"
    )


def render(path: Path, renderer: Renderer | None = None) -> str:
    """The rendered YAML stream of the kustomization at `path`."""
    renderer = renderer or find_renderer()
    try:
        result = subprocess.run(
            [*renderer.command, str(path)],
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"{path}: {renderer.name} did not finish within {RENDER_TIMEOUT_S} s") from exc
    except OSError as exc:
        raise RenderError(f"{path}: could not run {renderer.command[0]}: {exc}") from exc
    if result.returncode != 0:
        message = _tool_message(result.stderr or result.stdout) or f"exit code {result.returncode}"
        raise RenderError(f"{path}: {renderer.name} failed: {message}")
    return result.stdout


# kubectl logs through klog: `E1125 19:49:24.23 7717 run.go:72] "command failed" err="..."`.
_KLOG_ERR = re.compile(r'^[EWIF]\d{4} [^\]]*\] "command failed" err=(".*")$')


def _tool_message(output: str) -> str:
    """kustomize's own message, without klog's prefix or the "Error: " banner."""
    lines = []
    for line in output.strip().splitlines():
        match = _KLOG_ERR.match(line)
        if match:
            try:
                line = json.loads(match.group(1))
            except ValueError:
                line = match.group(1)
        lines.append(line.removeprefix("Error: "))
    return "\n".join(lines).strip()
