"""KubeRay v1.7.0's validation and webhook unit tests, case by case, as manifests of our own.

kuberay_cases/cases.yaml lists every case of ray-operator/controllers/ray/utils/validation_test.go and
pkg/webhooks/v1/*_webhook_test.go: the ones a manifest can express as a change to one of our base
manifests with the verdict KubeRay gives, the others with the reason they cannot be expressed
(kuberay_cases/INVENTORY.md sums them up). Each expressible case is validated with KubeRay's
default feature gates and with each gate flipped from its default (`--feature-gates Name=true` for
the alpha gates, `Name=false` for the beta ones); `flip` in the data gives the verdict where a flip
changes it. A verdict is `valid` (no error) or the rule ids that must be among the errors.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from raygitops.engine import Options, validate
from raygitops.findings import Severity
from raygitops.inputs.sources import load_paths
from raygitops.operator import KUBERAY_FEATURE_GATES

DATA = Path(__file__).parent / "kuberay_cases" / "cases.yaml"
VALID = "valid"
GATE_RULE = "feature-gate-disabled"

# Where each kind keeps its RayCluster spec, and the shorthands a case's `set` paths may start with.
CLUSTER_PATH = {
    "RayCluster": ("spec",),
    "RayJob": ("spec", "rayClusterSpec"),
    "RayService": ("spec", "rayClusterConfig"),
    "RayCronJob": ("spec", "jobTemplate", "rayClusterSpec"),
}
JOB_PATH = {"RayJob": ("spec",), "RayCronJob": ("spec", "jobTemplate")}
SHORTHANDS = {
    "head": ("headGroupSpec",),
    "headpod": ("headGroupSpec", "template", "spec"),
    "headc": ("headGroupSpec", "template", "spec", "containers", 0),
    "worker": ("workerGroupSpecs", 0),
    "workerpod": ("workerGroupSpecs", 0, "template", "spec"),
    "workerc": ("workerGroupSpecs", 0, "template", "spec", "containers", 0),
}


@dataclass(frozen=True)
class Case:
    """One case of a KubeRay Go test: the change to a base manifest and KubeRay's verdict on it."""

    go: str  # the Go test function and its case: Test/case name
    base: str = "RayCluster"
    set: Mapping[str, Any] = field(default_factory=dict)
    expect: tuple[str, ...] = (VALID,)  # with KubeRay's default gates
    flip: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # gate -> verdict with that gate flipped
    not_expressible: str = ""
    note: str = ""  # where the API server changes the case's premise before KubeRay sees it

    def verdict(self, flipped: str | None) -> tuple[str, ...]:
        return self.flip.get(flipped, self.expect) if flipped else self.expect

    def manifest(self, bases: Mapping[str, Any]) -> str:
        document = copy.deepcopy(bases[self.base])
        for path, value in self.set.items():
            _set(document, _expand(path, self.base), copy.deepcopy(value))
        return yaml.safe_dump(document, sort_keys=False)


def _verdict(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (str(value),)


def _expand(path: str, kind: str) -> tuple[str | int, ...]:
    head, _, rest = path.partition(".")
    tail = tuple(int(p) if p.isdigit() else p for p in rest.split(".")) if rest else ()
    if head == "cluster":
        return (*CLUSTER_PATH[kind], *tail)
    if head in SHORTHANDS:
        return (*CLUSTER_PATH[kind], *SHORTHANDS[head], *tail)
    if head == "job":
        return (*JOB_PATH[kind], *tail)
    return (head, *tail)


def _set(document: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Set `value` at `path`; a mapping is merged into the mapping there, None removes the key."""
    *parents, last = path
    node = document
    for key, following in zip(parents, [*parents[1:], last], strict=True):
        if isinstance(node, dict) and node.get(key) is None:
            node[key] = [] if isinstance(following, int) else {}
        node = node[key]
    if isinstance(node, list):
        while len(node) <= int(last):
            node.append({})
    if value is None:
        if isinstance(node, dict):
            node.pop(last, None)
        else:
            del node[int(last)]
    elif isinstance(value, dict) and isinstance(node[last] if isinstance(node, list) else node.get(last), dict):
        _merge(node[last], value)
    else:
        node[last] = value


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def load() -> tuple[dict[str, Any], list[Case]]:
    data = yaml.safe_load(DATA.read_text())
    cases = []
    for entry in [*data["cases"], *data["beyond"]]:
        entry = dict(entry)
        entry["expect"] = _verdict(entry.get("expect", VALID))
        entry["flip"] = {gate: _verdict(v) for gate, v in (entry.get("flip") or {}).items()}
        cases.append(Case(**entry))
    return data["bases"], cases


BASES, CASES = load()
EXPRESSIBLE = [c for c in CASES if not c.not_expressible]
# Each gate set against its default: the alpha gates on, the beta gates (on by default) off.
FLIPS = [None, *KUBERAY_FEATURE_GATES]


def gates_for(flipped: str | None) -> dict[str, bool]:
    return {flipped: not KUBERAY_FEATURE_GATES[flipped]} if flipped else {}


@pytest.fixture(scope="module")
def case_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("kuberay-cases")
    files = {}
    for number, case in enumerate(EXPRESSIBLE):
        path = folder / f"case-{number:03d}.yaml"
        path.write_text(case.manifest(BASES))
        files[case.go] = path
    return files


@dataclass
class Outcome:
    errors: set[str] = field(default_factory=set)  # rule ids of the errors
    gate_messages: list[str] = field(default_factory=list)  # what feature-gate-disabled said


@pytest.fixture(scope="module")
def outcomes(schema_store, case_files: dict[str, Path]) -> dict[tuple[str, str | None], Outcome]:
    """What each case gets, per gate flip: one validation run per flip, each file its own bundle."""
    by_source = {str(path): case for case, path in case_files.items()}
    found: dict[tuple[str, str | None], Outcome] = {}
    for flipped in FLIPS:
        for case in case_files:
            found[case, flipped] = Outcome()
        report = validate(load_paths(list(by_source)), schema_store, Options(feature_gates=gates_for(flipped)))
        for finding in report.findings:
            if finding.severity is Severity.ERROR:
                outcome = found[by_source[finding.source], flipped]
                outcome.errors.add(finding.rule)
                if finding.rule == GATE_RULE:
                    outcome.gate_messages.append(finding.message)
    return found


def agrees(expected: tuple[str, ...], errors: set[str]) -> bool:
    return not errors if expected == (VALID,) else set(expected) <= errors


def gate_to_name(case: Case, flipped: str | None) -> str | None:
    """The gate a feature-gate-disabled verdict is about: the beta gate turned off, or the alpha gate that clears it."""
    if GATE_RULE not in case.verdict(flipped):
        return None
    if flipped and GATE_RULE not in case.expect:
        return flipped
    return next(g for g, verdict in case.flip.items() if GATE_RULE not in verdict)


@pytest.mark.parametrize("flipped", FLIPS, ids=["default-gates", *(f"{g}-flipped" for g in KUBERAY_FEATURE_GATES)])
@pytest.mark.parametrize("case", EXPRESSIBLE, ids=[c.go for c in EXPRESSIBLE])
def test_kuberays_verdict(case: Case, flipped: str | None, outcomes) -> None:
    expected, outcome = case.verdict(flipped), outcomes[case.go, flipped]
    found = ", ".join(sorted(outcome.errors)) or VALID
    assert agrees(expected, outcome.errors), f"KubeRay: {', '.join(expected)}; raygitops: {found}"
    gate = gate_to_name(case, flipped)
    if gate:
        assert any(gate in message for message in outcome.gate_messages), outcome.gate_messages


def test_a_flip_names_a_gate_and_changes_the_verdict() -> None:
    for case in EXPRESSIBLE:
        for gate, verdict in case.flip.items():
            assert gate in KUBERAY_FEATURE_GATES, f"{case.go}: unknown gate {gate}"
            assert verdict != case.expect, f"{case.go}: flipping {gate} gives the default verdict; drop it"


@pytest.mark.parametrize("gate", list(KUBERAY_FEATURE_GATES))
def test_the_cli_process_flips_each_gate(gate: str, case_files, schema_cache_dir: Path) -> None:
    """`raygitops validate --feature-gates Gate=<not default>` in its own process gives the flipped verdicts."""
    chosen = [c for c in EXPRESSIBLE if gate in c.flip][:3] or EXPRESSIBLE[:2]
    value = "false" if KUBERAY_FEATURE_GATES[gate] else "true"
    command = [sys.executable, "-m", "raygitops", "validate", "-o", "json", "--cache-dir", str(schema_cache_dir),
               "--feature-gates", f"{gate}={value}", *(str(case_files[c.go]) for c in chosen)]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    assert run.returncode in (0, 1), run.stderr
    findings = json.loads(run.stdout)["findings"]
    for case in chosen:
        errors = {f["rule"] for f in findings if f["severity"] == "error" and f["source"] == str(case_files[case.go])}
        assert agrees(case.verdict(gate), errors), (case.go, case.verdict(gate), errors)


def test_every_case_is_expressed_or_says_why() -> None:
    names = [c.go for c in CASES]
    assert len(names) == len(set(names)), "a Go case is listed twice"
    for case in CASES:
        if case.not_expressible:
            assert not (case.set or case.flip), f"{case.go}: not expressible, yet has a manifest"


def test_the_inventory_is_current() -> None:
    from .kuberay_cases.inventory import render

    expected = render(yaml.safe_load(DATA.read_text()))
    assert (DATA.parent / "INVENTORY.md").read_text() == expected, (
        "INVENTORY.md is stale: run python tests/realworld/kuberay_cases/inventory.py"
    )
