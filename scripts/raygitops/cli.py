"""The `raygitops` command line.

raygitops validate [PATH...]      render and validate (exit 0 clean, 1 errors, 2 could not run)
raygitops render DIR              print what `kubectl apply -k DIR` would send
raygitops schemas fetch           fill the pinned schema store (upstream or a mirror folder)
raygitops rules                   list every check with its id, severity and doc
raygitops diff [--base REF] [--head REF] [PATH...]
                                  what a change does to the running clusters (exit 1: --fail-on matched)
raygitops targets [--profile P]   the deploy targets `make validate` covers
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .options import ENGINES, FORMATS, PROFILES
from .schema.store import DEFAULT_KUBERNETES_VERSION

if TYPE_CHECKING:
    from .config import Config

EXIT_CLEAN, EXIT_FINDINGS, EXIT_CANNOT_RUN = 0, 1, 2


class UsageError(Exception):
    """The run cannot start: the message says what to do (exit 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raygitops",
        description="Render KubeRay GitOps overlays and validate them as the API server and the KubeRay operator would.",
    )
    parser.add_argument("--version", action="version", version=f"raygitops {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="validate kustomizations, YAML files or stdin")
    validate.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="kustomization folder, YAML file, folder of YAML files, or - for stdin "
        "(default: every overlay and argocd/ of the repository)",
    )
    validate.add_argument("-o", "--output", choices=FORMATS, default="text")
    validate.add_argument(
        "--engine",
        choices=ENGINES,
        default="builtin",
        help="schema engine (kubeconform must be on PATH); the other checks always run",
    )
    validate.add_argument(
        "--profile",
        choices=PROFILES,
        default=None,
        help="prod turns the safety warnings into errors (default: the config's profiles per path, else default)",
    )
    validate.add_argument(
        "--kubernetes-version",
        default=None,
        metavar="X.Y",
        help=f"schemas of built-in kinds (default: the config's, else {DEFAULT_KUBERNETES_VERSION})",
    )
    validate.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only (the summary still counts warnings)"
    )
    validate.add_argument(
        "--reject-unknown-kinds",
        action="store_true",
        help="a kind whose group has no schema is an error, not a 'not validated' warning",
    )
    validate.add_argument(
        "--complete",
        action="store_true",
        help="the files given hold every object they reference: a missing one is an error, not a warning",
    )
    validate.add_argument(
        "--feature-gates",
        default="",
        metavar="Name=true,...",
        help="the KubeRay operator's feature gates, in its own flag format (default: KubeRay 1.7.0's, "
        "or the featureGates of the kuberay-operator Helm values in an Argo CD Application)",
    )
    validate.add_argument(
        "--cache-dir",
        type=Path,
        help="schema store (default: $RAYGITOPS_CACHE_DIR, else $XDG_CACHE_HOME/raygitops or ~/.cache/raygitops)",
    )
    validate.add_argument(
        "--allow-remote",
        action="store_true",
        help="let kustomize fetch remote resources (URLs, git); refused by default",
    )
    validate.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="decode and check long bundles on N cores, as kubeconform's -n does (default: every core this "
        "process may use, at most 8; 1: no worker processes)",
    )
    validate.add_argument(
        "--allow-empty",
        action="store_true",
        help="exit 0 when the paths hold no resource (default: exit 2, a mistyped path)",
    )

    render = commands.add_parser("render", help="print the rendered output of a kustomization")
    render.add_argument("path", metavar="DIR")

    schemas = commands.add_parser("schemas", help="manage the pinned schema store")
    schema_commands = schemas.add_subparsers(dest="schemas_command", required=True, metavar="ACTION")
    fetch = schema_commands.add_parser(
        "fetch", help="download (or copy from a mirror) the pinned CRDs, check their sha256, convert them"
    )
    fetch.add_argument("--mirror", type=Path, help="folder with the upstream files (default: $RAYGITOPS_CRD_MIRROR)")
    fetch.add_argument("--cache-dir", type=Path)
    fetch.add_argument("--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION, metavar="X.Y")

    rules = commands.add_parser("rules", help="list every check: id, severity, category and doc")
    rules.add_argument("-o", "--output", choices=("text", "json"), default="text")

    from .review.command import add_arguments as add_diff_arguments

    add_diff_arguments(
        commands.add_parser("diff", help="what a change does to the running clusters (renders both revisions)")
    )
    targets = commands.add_parser("targets", help="print the deploy targets, one per line (the Makefile reads them)")
    targets.add_argument("--profile", choices=("default", "prod"), default="default")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handlers = {
        "validate": _validate,
        "render": _render,
        "schemas": _schemas,
        "rules": _rules,
        "diff": _diff,
        "targets": _targets,
    }
    try:
        return handlers[args.command](args)
    except UsageError as exc:
        print(f"raygitops: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `raygitops validate | head`
        return EXIT_CLEAN
    except Exception as exc:  # a bug of ours; say so in one line rather than a traceback
        print(f"raygitops: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("RAYGITOPS_DEBUG"):
            raise
        return EXIT_CANNOT_RUN


def _validate(args: argparse.Namespace) -> int:
    from .checks.registry import known_ids
    from .config import ConfigError, find_config
    from .engine import Options, checker, validate
    from .engines.kubeconform import KubeconformError
    from .inputs.sources import SourceError, default_targets, find_repo_root, load_paths
    from .operator import FeatureGateError, parse_feature_gates
    from .parallel import available_cores
    from .report.locate import locate_findings
    from .report.output import format_report
    from .schema.store import SchemaStore, SchemaStoreError

    paths = args.paths
    defaulted = not paths
    if not paths:
        targets = default_targets(find_repo_root(Path.cwd()))
        if not targets:
            raise UsageError("no PATH given and no overlays/*/kustomization.yaml found here: name what to validate")
        paths = [str(t) for t in targets]
    try:
        config = find_config(Path(paths[0]) if paths[0] != "-" else Path.cwd())
        unknown = sorted(set(config.ignore) - known_ids())
        if unknown:  # a typo would silently turn off nothing
            raise ConfigError(
                f"{config.source}: ignore names rule {unknown[0]!r}, which does not exist (see `raygitops rules`)"
            )
        version = args.kubernetes_version or config.kubernetes_version or DEFAULT_KUBERNETES_VERSION
        store = SchemaStore.open(args.cache_dir, version, config.crds)
        options = Options(
            engine=args.engine,
            profile=args.profile or "default",
            profile_given=args.profile is not None,
            unknown_group_is_error=args.reject_unknown_kinds,
            # the repository's default targets are its whole deployment: nothing they use comes from elsewhere
            complete=args.complete or bool(config.complete) or defaulted,
            feature_gates={**config.feature_gates, **parse_feature_gates(args.feature_gates)},
            config=config,
            jobs=args.jobs or available_cores(),
        )
        # Decoded manifests hold no cycles: pause the cyclic GC while decoding, then move them out of
        # its reach, or each full collection during the checks walks every object of the bundle again.
        gc.disable()
        try:
            sources = load_paths(
                paths,
                exclude=lambda found: _left_out(found, config),
                allow_remote=args.allow_remote,
                jobs=options.jobs,
                check=checker(store, options),
            )
        finally:
            gc.freeze()
            gc.enable()
        if not args.allow_empty and not any(s.documents or s.findings for s in sources):
            raise UsageError(
                f"no resource found in {', '.join(paths)}: nothing to check (pass --allow-empty if that is expected)"
            )
        report = validate(sources, store, options)
    except (SchemaStoreError, SourceError, KubeconformError, FeatureGateError, ConfigError) as exc:
        raise UsageError(str(exc)) from exc
    report.findings = locate_findings(report.findings, sources, options.jobs)
    sys.stdout.write(format_report(report, args.output, quiet=args.quiet))
    return EXIT_FINDINGS if report.errors else EXIT_CLEAN


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _left_out(found: list[Path], config: Config) -> set[Path]:
    """What a folder walk leaves out: .git, .venv and the like, the config's exclude list, what git ignores."""
    from .config import git_ignored

    left = {p for p in found if config.excluded(p)}
    rest = [p for p in found if p not in left]
    root = config.root or (rest[0].parent if rest else None)
    if root is not None:
        ignored = git_ignored(rest, root)
        left.update(p for p in rest if p.resolve() in ignored)
    return left


def _diff(args: argparse.Namespace) -> int:
    from .review.command import DiffUsageError, run

    try:
        return run(args)
    except DiffUsageError as exc:
        raise UsageError(str(exc)) from exc


def _targets(args: argparse.Namespace) -> int:
    from .targets import PROD_TARGETS, VALIDATE_TARGETS

    print("\n".join(PROD_TARGETS if args.profile == "prod" else VALIDATE_TARGETS))
    return EXIT_CLEAN


def _render(args: argparse.Namespace) -> int:
    from .inputs.render import RenderError, is_kustomization, render

    path = Path(args.path)
    if not is_kustomization(path):
        raise UsageError(f"{path}: not a kustomization folder (no kustomization.yaml)")
    try:
        sys.stdout.write(render(path))
    except RenderError as exc:
        raise UsageError(str(exc)) from exc
    return EXIT_CLEAN


def _schemas(args: argparse.Namespace) -> int:
    from .config import ConfigError, find_config
    from .schema.store import SchemaFetchError, fetch, fetch_extra_crds

    try:  # without --mirror, fetch reads $RAYGITOPS_CRD_MIRROR, else downloads
        extra = fetch_extra_crds(find_config(Path.cwd()).crds, args.cache_dir)  # the repository config's CRDs
        report = fetch(args.cache_dir, args.mirror, args.kubernetes_version)
    except (SchemaFetchError, ConfigError) as exc:
        raise UsageError(str(exc)) from exc
    print(report)
    for crd in extra:
        print(f"  {crd.name}: sha256 {crd.sha256[:12]}... ok ({', '.join(crd.kinds)})")
    return EXIT_CLEAN


def _rules(args: argparse.Namespace) -> int:
    from .checks.registry import all_checks
    from .report.output import rules_table
    from .report.ruledocs import help_uri

    checks = all_checks()
    if args.output == "json":
        rows = [
            {
                "id": c.id,
                "severity": c.severity.value,
                "category": c.category,
                "subject": c.subject.value,
                "doc": c.doc.summary,
                "why": c.doc.why,
                "fails": c.doc.fails,
                "instead": c.doc.instead,
                "help_uri": help_uri(c),
            }
            for c in checks
        ]
        print(json.dumps(rows, indent=2))
    else:
        sys.stdout.write(rules_table((c.id, c.severity.value, c.category, c.doc.summary) for c in checks))
    return EXIT_CLEAN
