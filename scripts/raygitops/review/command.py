"""`raygitops diff`: the command, from arguments to an exit code.

0  ran; no effect named by --fail-on appeared
1  an effect named by --fail-on appeared
2  could not run (not a git repository, unknown revision, a target that does not render)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..targets import all_targets

EXIT_CLEAN, EXIT_FAIL_ON, EXIT_CANNOT_RUN = 0, 1, 2
# review.report's formats, named here so that building the CLI's parser does not import the review
# (tens of milliseconds off every `raygitops validate`); a test keeps the two equal.
FORMATS = ("text", "markdown", "json")


class DiffUsageError(Exception):
    """The diff cannot run; the message says why (exit 2)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"kustomization folders, relative to the repository root (default: {' '.join(all_targets())})",
    )
    parser.add_argument("--base", default="HEAD", metavar="REF", help="revision before the change (default: HEAD)")
    parser.add_argument(
        "--head", default=None, metavar="REF", help="revision after the change (default: the working tree)"
    )
    parser.add_argument("-o", "--output", choices=FORMATS, default="text")
    parser.add_argument(
        "--fail-on", default="", metavar="ID[,ID]", help="exit 1 when one of these effects appears (see --list-effects)"
    )
    parser.add_argument("--list-effects", action="store_true", help="print every effect id and exit")


def run(args: argparse.Namespace) -> int:
    from ..inputs.render import RendererMissing, find_renderer
    from .diff import diff_targets
    from .effects import EFFECTS
    from .report import format_diff
    from .revisions import RevisionError, repository_root, resolve

    if args.list_effects:
        sys.stdout.write("".join(f"{effect_id:<32} {doc}\n" for effect_id, doc in EFFECTS.items()))
        return EXIT_CLEAN
    fail_on = {part.strip() for part in args.fail_on.split(",") if part.strip()}
    unknown = sorted(fail_on - EFFECTS.keys())
    if unknown:
        raise DiffUsageError(f"--fail-on: unknown effect id {', '.join(unknown)} (known: {', '.join(EFFECTS)})")
    try:
        repo = repository_root(Path.cwd())
        targets = [_relative(repo, p) for p in args.paths] or list(all_targets())
        base, head = resolve(repo, args.base), resolve(repo, args.head)
        renderer = find_renderer()
        diffs = diff_targets(repo, base, head, targets, renderer, named=bool(args.paths))
    except (RevisionError, RendererMissing) as exc:
        raise DiffUsageError(str(exc)) from exc
    sys.stdout.write(format_diff(diffs, args.output, base.label, head.label))
    seen = set().union(*(d.effect_ids for d in diffs)) if diffs else set()
    return EXIT_FAIL_ON if fail_on & seen else EXIT_CLEAN


def _relative(repo: Path, raw: str) -> str:
    """A PATH as the user typed it (from any folder) -> its path in the repository."""
    path = Path(raw)
    absolute = (Path.cwd() / path).resolve() if not path.is_absolute() else path.resolve()
    try:
        return absolute.relative_to(repo.resolve()).as_posix()
    except ValueError as exc:
        raise DiffUsageError(f"{raw}: outside the repository {repo}") from exc
