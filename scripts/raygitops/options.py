"""What a run of `raygitops validate` can be asked for: the choices the CLI offers and the engine takes.

Kept free of heavy imports so that the CLI can build its parser without loading the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ENGINES = ("builtin", "kubeconform")  # builtin: raygitops's own schema stage
PROFILES = ("default", "prod")  # prod: the safety warnings become errors
FORMATS = ("text", "json", "junit", "sarif")


@dataclass(frozen=True)
class Options:
    engine: str = "builtin"
    profile: str = "default"
    unknown_group_is_error: bool = False
    kubeconform_binary: str = "kubeconform"
    kubeconform_schema_dir: Path | None = None
