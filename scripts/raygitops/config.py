"""The repository's configuration: `.raygitops.yaml`, or `[tool.raygitops]` in pyproject.toml.

Found by walking up from the validated path (the first PATH, else the working
folder), as ruff and yamllint find theirs; the nearest folder holding either file
wins. Every key is optional; command-line flags override what it says:

    kubernetes-version: "1.33"
    complete: true                  # bundles hold everything they reference
    external: [Secret/ray-auth-token, ConfigMap/team-settings]
    profiles: {"overlays/prod/**": prod}
    ignore: {image-unpinned: "dev images are rebuilt nightly on purpose"}
    exclude: [vendor/**]            # besides .git, .venv and what git ignores
    feature-gates: {RayClusterNetworkPolicy: true}
    crds:                           # more CRDs, converted into the schema store like the pinned ones
    - path: crds/widgets.yaml       # relative to this file; read on every run
    - url: https://example.com/crds/gadgets.yaml
      sha256: <64 hex digits>       # downloaded by `raygitops schemas fetch` only, refused if it differs
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .inputs.sources import SKIPPED_FOLDERS
from .operator import FeatureGateError, gates_from_mapping
from .schema.store import ExtraCrd

CONFIG_FILE = ".raygitops.yaml"
PYPROJECT = "pyproject.toml"
PROFILES = ("default", "prod")
KNOWN_KEYS = ("kubernetes-version", "complete", "external", "profiles", "ignore", "exclude", "feature-gates", "crds")
CRD_URL_SCHEMES = ("https://", "http://", "file://")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ConfigError(Exception):
    """The config file cannot be used: the message names the file, the key and what was expected (exit 2)."""


@dataclass(frozen=True)
class Config:
    root: Path | None = None  # the folder the file is in; paths in it are relative to this
    source: str = ""  # the file it came from, for messages
    kubernetes_version: str | None = None
    complete: bool | None = None
    external: frozenset[tuple[str, str]] = frozenset()  # (kind, name)
    profiles: tuple[tuple[str, str], ...] = ()  # (glob, profile), first match wins
    ignore: dict[str, str] = field(default_factory=dict)  # rule id -> reason
    exclude: tuple[str, ...] = ()
    feature_gates: dict[str, bool] = field(default_factory=dict)
    crds: tuple[ExtraCrd, ...] = ()

    def profile_for(self, label: str) -> str | None:
        relative = self.relative(label)
        if relative is None:
            return None
        for pattern, profile in self.profiles:
            if _matches(relative, pattern):
                return profile
        return None

    def relative(self, label: str) -> str | None:
        if self.root is None or label == "-":
            return None
        try:
            return Path(label).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None

    def excluded(self, path: Path) -> bool:
        """Left out of a folder walk: always-excluded folders, the config's patterns, what git ignores."""
        relative = self.relative(str(path))
        parts = PurePosixPath(relative).parts if relative is not None else path.parts
        if any(part in SKIPPED_FOLDERS for part in parts):
            return True
        return relative is not None and any(_matches(relative, pattern) for pattern in self.exclude)


def _matches(relative: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    path = PurePosixPath(relative)
    if fnmatch.fnmatch(relative, pattern) or path.match(pattern):
        return True
    # `overlays/prod/**` also matches `overlays/prod` itself, and a folder pattern what is under it
    base = pattern[:-3] if pattern.endswith("/**") else pattern
    return relative == base or relative.startswith(base + "/")


def find_config(start: Path) -> Config:
    """The nearest config at or above `start`; an empty Config when there is none."""
    folder = start.resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_FILE
        if path.is_file():
            return _load(_read_yaml(path), candidate, str(path))
        pyproject = candidate / PYPROJECT
        if pyproject.is_file():
            table = _read_toml(pyproject).get("tool", {}).get("raygitops")
            if isinstance(table, dict):
                return _load(table, candidate, f"{pyproject} [tool.raygitops]")
    return Config()


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from exc


def _load(data: Any, root: Path, source: str) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings ({', '.join(KNOWN_KEYS)})")
    unknown = [str(k) for k in data if k not in KNOWN_KEYS]
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; known keys are {', '.join(KNOWN_KEYS)}")

    def expect(key: str, kind: type, what: str) -> Any:
        value = data.get(key)
        if value is not None and not isinstance(value, kind):
            raise ConfigError(f"{source}: {key} must be {what}, not {value!r}")
        return value

    version = data.get("kubernetes-version")
    if version is not None and not isinstance(version, (str, float)):
        raise ConfigError(f'{source}: kubernetes-version must be a string such as "1.33"')
    external: set[tuple[str, str]] = set()
    for entry in expect("external", list, "a list of Kind/name") or []:
        kind, slash, name = str(entry).partition("/")
        if not slash or not kind or not name:
            raise ConfigError(f"{source}: external entry {entry!r} is not Kind/name (e.g. Secret/ray-auth-token)")
        external.add((kind.strip(), name.strip()))
    profiles = []
    for pattern, profile in (expect("profiles", dict, "a mapping of path pattern to profile") or {}).items():
        if profile not in PROFILES:
            raise ConfigError(f"{source}: profiles.{pattern} is {profile!r}; use one of {', '.join(PROFILES)}")
        profiles.append((str(pattern), str(profile)))
    ignore = {}
    for rule_id, reason in (expect("ignore", dict, "a mapping of rule id to the reason") or {}).items():
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{source}: ignore.{rule_id} needs a reason: write '{rule_id}: <why this is acceptable>'")
        ignore[str(rule_id)] = reason.strip()
    try:
        gates = gates_from_mapping(
            expect("feature-gates", dict, "a mapping of gate name to true or false") or {}, source
        )
    except FeatureGateError as exc:
        raise ConfigError(str(exc)) from exc
    crds = tuple(
        _extra_crd(entry, f"{source}: crds[{position}]", root)
        for position, entry in enumerate(expect("crds", list, "a list of {path: ...} or {url: ..., sha256: ...}") or [])
    )
    return Config(
        root=root,
        source=source,
        kubernetes_version=str(version) if version is not None else None,
        complete=expect("complete", bool, "true or false"),
        external=frozenset(external),
        profiles=tuple(profiles),
        ignore=ignore,
        exclude=tuple(str(p) for p in expect("exclude", list, "a list of path patterns") or []),
        feature_gates=gates,
        crds=crds,
    )


def _extra_crd(entry: Any, where: str, root: Path) -> ExtraCrd:
    """One `crds` entry: {path: relative/file.yaml} or {url: https://..., sha256: <64 hex digits>}."""
    expected = "expected {path: relative/to/the/config.yaml} or {url: https://..., sha256: <64 hex digits>}"
    if not isinstance(entry, dict) or set(entry) not in ({"path"}, {"url", "sha256"}):
        raise ConfigError(f"{where} is {entry!r}; {expected}")
    if "path" in entry:
        path = entry["path"]
        if not isinstance(path, str) or not path.strip():
            raise ConfigError(f"{where}: path must be a file name, not {path!r}")
        return ExtraCrd(label=f"{where} (path: {path})", path=root / path)
    url, sha256 = entry["url"], entry["sha256"]
    if not isinstance(url, str) or not url.startswith(CRD_URL_SCHEMES):
        raise ConfigError(f"{where}: url must start with {', '.join(CRD_URL_SCHEMES)}, not {url!r}")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.strip().lower()):
        raise ConfigError(f"{where}: sha256 of {url} must be 64 hex digits (sha256sum prints it), not {sha256!r}")
    return ExtraCrd(label=f"{where} (url: {url})", url=url, sha256=sha256.strip().lower())


def git_ignored(paths: list[Path], root: Path) -> set[Path]:
    """The paths git ignores in the repository at `root` (none when git or the repository is absent)."""
    if not paths:
        return set()
    try:
        result = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "--stdin", "-z"],
            input="\0".join(str(p.resolve()) for p in paths) + "\0",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    return {Path(p) for p in result.stdout.split("\0") if p}
