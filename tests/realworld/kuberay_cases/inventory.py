"""Write INVENTORY.md, the summary of cases.yaml: `python tests/realworld/kuberay_cases/inventory.py`.

test_kuberay_cases.py fails while the committed INVENTORY.md differs from what this writes.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
DATA, INVENTORY = HERE / "cases.yaml", HERE / "INVENTORY.md"


def _verdict(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value or "valid")


def _row(case: dict[str, Any]) -> str:
    name = case["go"].partition("/")[2] or "(the whole test)"
    if case.get("not_expressible"):
        return f"| {name} | no: {case['not_expressible']} | | |"
    flips = "; ".join(f"{gate}: {_verdict(v)}" for gate, v in (case.get("flip") or {}).items())
    note = f" ({case['note']})" if case.get("note") else ""
    return f"| {name} | yes{note} | {_verdict(case.get('expect'))} | {flips} |"


def render(data: dict[str, Any]) -> str:
    cases, beyond = data["cases"], data["beyond"]
    expressible = [c for c in cases if not c.get("not_expressible")]
    tests = Counter(c["go"].split("/")[0] for c in cases)
    lines = [
        "# KubeRay v1.7.0's validation and webhook unit tests, case by case",
        "",
        "Generated from cases.yaml by inventory.py; test_kuberay_cases.py checks it is current and runs every",
        "expressible case with KubeRay's default feature gates and with each of its 11 gates flipped from its",
        "default (`--feature-gates Name=true` for the alpha gates, `Name=false` for the beta ones).",
        "",
        "Sources: `ray-operator/controllers/ray/utils/validation_test.go` (table entries and standalone tests;",
        "a standalone test with several assertions counts one case per assertion) and",
        "`ray-operator/pkg/webhooks/v1/*_webhook_test.go` (Ginkgo specs).",
        "",
        f"- cases: {len(cases)} in {len(tests)} tests; expressible as a manifest: {len(expressible)};"
        f" not expressible: {len(cases) - len(expressible)}",
        f"- rejected with the default gates: {sum(1 for c in expressible if c.get('expect', 'valid') != 'valid')};"
        f" cases whose verdict a gate changes: {sum(1 for c in expressible if c.get('flip'))}",
        f"- branches of validation.go that the tests leave out, checked the same way: {len(beyond)}",
        "",
        "A verdict is `valid` (no error) or the rule ids raygitops reports; KubeRay stops at its first error,",
        "raygitops reports them all, so a rejected case must carry at least the rule named. Where the API server",
        "rejects the manifest first (the CRD's schema or CEL rules), the verdict is its rule.",
        "",
        "The expected verdicts were checked once against KubeRay v1.7.0's own code: its `utils.Validate*` functions",
        "and admission webhooks, built from the v1.7.0 source, run on each manifest as the API server stores it",
        "(defaulted), under each gate setting; rejected or valid agreed for every case where the API server does",
        "not reject first. That check is not part of the suite: CI cannot fetch KubeRay v1.7.0's source (tools/README.md).",
        "",
    ]
    current = ""
    for case in cases:
        test = case["go"].split("/")[0]
        if test != current:
            current = test
            lines += ["", f"## {test} ({tests[test]})", "", "| case | expressible | default gates | gate flipped |", "|---|---|---|---|"]
        lines.append(_row(case))
    lines += ["", "## Beyond the tests", "", "| case | expressible | default gates | gate flipped |", "|---|---|---|---|"]
    lines += [_row({**c, "go": "x/" + c["go"]}) for c in beyond]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    INVENTORY.write_text(render(yaml.safe_load(DATA.read_text())))
    sys.stdout.write(f"wrote {INVENTORY}\n")
