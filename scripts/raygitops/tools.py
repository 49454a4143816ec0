"""Where the external tools (kustomize, kubectl, kubeconform) are found.

`make tools` builds pinned versions of them and links them beside the Python
that runs raygitops (`.venv/bin`), so `.venv/bin/raygitops` uses the pinned
build even when the virtual environment is not activated; PATH comes second.
`RAYGITOPS_TOOLS_DIR` names another folder to look in first.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

TOOLS_DIR_VARIABLE = "RAYGITOPS_TOOLS_DIR"


def pinned_tools_dir() -> Path:
    """The folder `make tools` links its builds into: the running interpreter's bin folder, unless overridden."""
    configured = os.environ.get(TOOLS_DIR_VARIABLE)
    return Path(configured) if configured else Path(sys.executable).parent


def find_tool(name: str) -> str | None:
    """The pinned build of `name` if there is one, else `name` on PATH, else None."""
    pinned = pinned_tools_dir() / name
    if pinned.is_file() and os.access(pinned, os.X_OK):
        return str(pinned)
    return shutil.which(name)
