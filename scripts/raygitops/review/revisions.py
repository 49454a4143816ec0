"""Revisions: render kustomize targets as they are at a git revision, offline.

The base revision (and the head, when it is not the working tree) is checked
out with `git worktree add --detach` into a temporary folder, rendered there
with the same renderer `raygitops validate` uses, and removed afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from ..inputs.documents import Document, load_stream
from ..inputs.render import Renderer, RenderError, is_kustomization, render

GIT_TIMEOUT_S = 120


class RevisionError(Exception):
    """A revision cannot be read or a target cannot be rendered: the diff cannot run (exit 2)."""


@dataclass(frozen=True)
class Revision:
    """A git revision as the user named it, or the working tree (ref None)."""

    ref: str | None
    commit: str | None  # None for the working tree

    @property
    def label(self) -> str:
        if self.ref is None:
            return "working tree"
        return f"{self.ref} ({self.commit[:12]})" if self.commit and self.commit != self.ref else self.ref


def _git(repo: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise RevisionError("git is not on PATH: raygitops diff reads revisions with git") from exc
    except subprocess.TimeoutExpired as exc:
        raise RevisionError(f"git {' '.join(args)} did not finish within {GIT_TIMEOUT_S} s") from exc
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise RevisionError(f"git {' '.join(args)}: {message[-1] if message else f'exit code {result.returncode}'}")
    return result.stdout.strip()


def repository_root(start: Path) -> Path:
    try:
        return Path(_git(start, "rev-parse", "--show-toplevel"))
    except RevisionError as exc:
        raise RevisionError(f"{start}: not inside a git repository ({exc})") from exc


def resolve(repo: Path, ref: str | None) -> Revision:
    if ref is None:
        return Revision(None, None)
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except RevisionError as exc:
        raise RevisionError(f"--base/--head {ref!r}: no such commit, branch or tag in {repo}") from exc
    return Revision(ref, commit)


@contextmanager
def checkout(repo: Path, revision: Revision) -> Iterator[Path]:
    """A folder holding the repository's files at `revision`; the working tree itself for ref None."""
    if revision.commit is None:
        yield repo
        return
    scratch = Path(tempfile.mkdtemp(prefix="raygitops-diff-"))
    tree = scratch / "tree"
    try:
        _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), revision.commit)
        yield tree
    finally:
        with suppress(RevisionError):  # it may not have been created; prune below forgets it either way
            _git(repo, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(scratch, ignore_errors=True)
        with suppress(RevisionError):
            _git(repo, "worktree", "prune")


def render_target(tree: Path, target: str, renderer: Renderer, revision: Revision) -> list[Document] | None:
    """The decoded objects of `target` in `tree`; None when the target does not exist at this revision."""
    folder = tree / target
    if not is_kustomization(folder):
        return None
    try:
        stream = render(folder, renderer)
    except RenderError as exc:
        # kustomize names the temporary folder; the user knows the target and the revision.
        message = str(exc).replace(str(tree) + "/", "")
        raise RevisionError(f"{target} at {revision.label}: {message}") from exc
    documents, problems = load_stream(stream, target)
    if problems:
        raise RevisionError(f"{target} at {revision.label}: rendered output does not decode: {problems[0].message}")
    return documents
