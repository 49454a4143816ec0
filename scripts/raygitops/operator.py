"""The KubeRay operator's configuration the verdict depends on: its feature gates.

KubeRay 1.7.0 rejects spec.networkPolicy, spec.tlsOptions, spec.historyServerOptions and the
rocksdb GCS backend while their gate is off (the default), and applies their own rules
once it is on; it runs no RayCronJob controller while the RayCronJob gate is off, and checks
a RayService's incremental upgrade options only while RayServiceIncrementalUpgrade is on. The gates come from `--feature-gates Name=true,...` (the operator's own
flag format), the repository config, or the `featureGates` values of the
kuberay-operator Helm chart in an Argo CD Application; defaults are KubeRay 1.7.0's
(ray-operator/pkg/features/features.go).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from .inputs.documents import Document

# KubeRay v1.7.0's gates and their defaults.
KUBERAY_FEATURE_GATES: Mapping[str, bool] = {
    "RayClusterStatusConditions": True,
    "RayJobDeletionPolicy": True,
    "RayMultiHostIndexing": True,
    "RayServiceIncrementalUpgrade": True,
    "RayCronJob": False,
    "SidecarSubmitterRestart": False,
    "RayClusterNetworkPolicy": False,
    "GCSFaultToleranceEmbeddedStorage": False,
    "RayClusterMTLS": False,
    "RayClusterHistoryServer": False,
    "KubernetesWAS": False,
}

OPERATOR_CHART = "kuberay-operator"


class FeatureGateError(ValueError):
    """A gate setting that the operator itself would refuse to start with."""


@dataclass(frozen=True)
class OperatorConfig:
    """The gates in force: KubeRay's defaults overridden by what the user set."""

    overrides: Mapping[str, bool] = field(default_factory=dict)

    def enabled(self, gate: str) -> bool:
        return self.overrides.get(gate, KUBERAY_FEATURE_GATES[gate])

    def with_overrides(self, more: Mapping[str, bool]) -> OperatorConfig:
        return OperatorConfig({**self.overrides, **more})


def parse_feature_gates(text: str) -> dict[str, bool]:
    """`Name=true,Name2=false`, as the operator's --feature-gates flag reads it."""
    gates: dict[str, bool] = {}
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        name, equals, value = entry.partition("=")
        name = name.strip()
        if not equals or value.strip().lower() not in ("true", "false"):
            raise FeatureGateError(f"feature gate {entry!r} is not Name=true or Name=false")
        gates[_known(name)] = value.strip().lower() == "true"
    return gates


def gates_from_mapping(values: Mapping[str, Any], where: str) -> dict[str, bool]:
    """A config file's `featureGates: {Name: true}`."""
    gates: dict[str, bool] = {}
    for name, value in values.items():
        if not isinstance(value, bool):
            raise FeatureGateError(f"{where}: feature gate {name} must be true or false, not {value!r}")
        gates[_known(str(name))] = value
    return gates


def gates_from_chart_values(entries: Iterable[Any]) -> dict[str, bool]:
    """The kuberay-operator chart's `featureGates: [{name: X, enabled: true}]`; malformed entries are skipped."""
    gates: dict[str, bool] = {}
    for entry in entries:
        if (
            isinstance(entry, dict)
            and entry.get("name") in KUBERAY_FEATURE_GATES
            and isinstance(entry.get("enabled"), bool)
        ):
            gates[entry["name"]] = entry["enabled"]
    return gates


def _known(name: str) -> str:
    if name not in KUBERAY_FEATURE_GATES:
        raise FeatureGateError(f"unknown feature gate {name!r}; KubeRay 1.7.0 has {', '.join(KUBERAY_FEATURE_GATES)}")
    return name


def operator_chart_gates(documents: Iterable[Document]) -> dict[str, bool]:
    """The featureGates of the kuberay-operator Helm chart where an Argo CD Application installs it."""
    gates: dict[str, bool] = {}
    for document in documents:
        if document.kind != "Application" or document.group != "argoproj.io":
            continue
        for source in [document.spec.get("source"), *(document.spec.get("sources") or [])]:
            if not isinstance(source, dict) or source.get("chart") != OPERATOR_CHART:
                continue
            helm = source.get("helm")
            if not isinstance(helm, dict):
                helm = {}
            values = helm.get("valuesObject")
            if not isinstance(values, dict) and isinstance(helm.get("values"), str):
                try:
                    values = yaml.safe_load(helm["values"])
                except yaml.YAMLError:
                    values = None  # Argo CD reports values that do not parse; the defaults stand
            if isinstance(values, dict) and isinstance(values.get("featureGates"), list):
                gates.update(gates_from_chart_values(values["featureGates"]))
    return gates
