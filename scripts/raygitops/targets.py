"""The repository's deploy targets: what `make validate`, `make render` and `raygitops diff` cover.

One list, read by the Makefile through `raygitops targets`, so the gate and the
pull-request review never disagree about what is deployed.
"""

from __future__ import annotations

# Each overlay with the profile it deploys under, the cluster-wide setup, and the Argo CD bootstrap.
VALIDATE_TARGETS: tuple[str, ...] = ("overlays/dev", "overlays/gpu", "cluster-setup", "argocd")
PROD_TARGETS: tuple[str, ...] = ("overlays/prod",)


def all_targets() -> tuple[str, ...]:
    return VALIDATE_TARGETS + PROD_TARGETS
