"""What a run of `raygitops validate` can be asked for: the choices the CLI offers and the engine takes.

Kept free of heavy imports so that the CLI can build its parser without loading the checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Config

ENGINES = ("builtin", "kubeconform")  # builtin: raygitops's own schema stage
PROFILES = ("default", "prod")  # prod: the safety warnings become errors
FORMATS = ("text", "json", "junit", "sarif")


@dataclass(frozen=True)
class Options:
    engine: str = "builtin"
    profile: str = "default"
    unknown_group_is_error: bool = False
    complete: bool = False  # every bundle holds all it references (`--complete`, the config, the default targets)
    # The operator's feature gates, over its Helm values and KubeRay's defaults.
    feature_gates: Mapping[str, bool] = field(default_factory=dict)
    # The repository config: profiles per path (when `profile` is not given), objects outside the repo,
    # rules turned off with a reason; None: the defaults, as with no config file.
    config: Config | None = None
    profile_given: bool = True  # False: the config's profiles per path apply, `profile` elsewhere
    # Cores to decode and check on (forked children, see parallel.py); the CLI's default is every core.
    jobs: int = 1
    kubeconform_binary: str = "kubeconform"
    kubeconform_schema_dir: Path | None = None
