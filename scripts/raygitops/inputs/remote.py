"""Remote resources: what a kustomization would fetch from the network, found before rendering.

kustomize fetches a `resources` (or `bases`, `components`) entry that is a URL
or a git repository (`https://...`, `git::...`, `github.com/org/repo//dir`,
`git@host:org/repo`), and `file://` URLs reach any folder on the machine. A
validator gating pull requests must not fetch what a pull request names, so
rendering is offline by default: each such entry, in the kustomization or in
any local kustomization it includes, is refused with a finding naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .documents import SAFE_LOADER
from .render import KUSTOMIZATION_FILES

# Fields whose entries kustomize may load from a remote location.
_RESOURCE_FIELDS = ("resources", "bases", "components")
# A URL scheme (http, https, git, ssh, file, s3...), go-getter's forced form (git::), an scp-like git address,
# or a host name followed by a path (github.com/org/repo): kustomize fetches each of these.
_REMOTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*::|[A-Za-z][A-Za-z0-9+.-]*://|[\w.-]+@[\w.-]+:|[\w-]+(?:\.[\w-]+)+/)")
_MAX_KUSTOMIZATIONS = 1000  # a bound on the walk, whatever the tree holds


@dataclass(frozen=True)
class RemoteResource:
    kustomization: Path  # the kustomization file that names it
    field: str
    entry: str


def remote_resources(folder: Path) -> list[RemoteResource]:
    """Every remote entry of the kustomization at `folder` and of the local kustomizations it includes."""
    found: list[RemoteResource] = []
    seen: set[Path] = set()
    pending = [folder]
    while pending and len(seen) < _MAX_KUSTOMIZATIONS:
        current = pending.pop()
        try:
            real = current.resolve()
        except (OSError, RuntimeError):  # a symlink loop: kustomize fails on it and says so
            continue
        if real in seen:
            continue
        seen.add(real)
        file = next((current / name for name in KUSTOMIZATION_FILES if (current / name).is_file()), None)
        if file is None:
            continue
        for field, entry in _entries(file):
            if _REMOTE.match(entry) and not (current / entry).exists():
                found.append(RemoteResource(file, field, entry))
            elif (current / entry).is_dir():
                pending.append(current / entry)
    return found


def _entries(file: Path) -> list[tuple[str, str]]:
    try:
        data = yaml.load(file.read_bytes(), Loader=SAFE_LOADER)
    except (OSError, yaml.YAMLError, RecursionError):
        return []  # kustomize reports an unreadable kustomization itself
    if not isinstance(data, dict):
        return []
    entries: list[tuple[str, str]] = []
    for field in _RESOURCE_FIELDS:
        values = data.get(field)
        if isinstance(values, list):
            entries.extend((field, value.strip()) for value in values if isinstance(value, str))
    return entries
