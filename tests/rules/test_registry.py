"""The registry of every check: one declaration per id, a three-part doc, and no unknown ids."""

from __future__ import annotations

import pytest

from raygitops.checks.registry import NATIVE, REGISTRY, Subject, UnknownCheck, all_checks, check, declare, parse_doc
from raygitops.findings import Severity


def test_a_doc_splits_into_summary_why_fails_and_instead() -> None:
    doc = parse_doc('''Worker group names are unique.

    Why: KubeRay names pods after the group,
    so two groups fight over them.

    Fails:
        workerGroupSpecs: [{groupName: cpu}, {groupName: cpu}]

    Instead:
        workerGroupSpecs: [{groupName: cpu}, {groupName: gpu}]
    ''')
    assert doc.summary == "Worker group names are unique."
    assert doc.why == "KubeRay names pods after the group,\nso two groups fight over them."
    assert doc.fails == "workerGroupSpecs: [{groupName: cpu}, {groupName: cpu}]"
    assert doc.instead == "workerGroupSpecs: [{groupName: cpu}, {groupName: gpu}]"
    assert doc.complete


def test_a_fragment_under_one_top_level_key_keeps_its_nesting() -> None:
    doc = parse_doc("""Pods tolerate the GPU taint.

    Why: GPU nodes are tainted.

    Fails:
        spec:
          containers:
            - name: ray-worker

    Instead:
        spec:
          tolerations: [{key: nvidia.com/gpu, operator: Exists}]
    """)
    assert doc.fails == "spec:\n  containers:\n    - name: ray-worker"
    assert doc.instead == "spec:\n  tolerations: [{key: nvidia.com/gpu, operator: Exists}]"


def test_an_unknown_id_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(UnknownCheck, match="missing-limit"):
        check("missing-limit")
    assert check("missing-limits").severity is Severity.WARNING


def test_an_id_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        declare("service-port", "Again.", category="native")


def test_every_check_has_a_summary_a_known_category_and_a_subject() -> None:
    checks = all_checks()
    assert len({c.id for c in checks}) == len(checks) == len(REGISTRY)
    for declared in checks:
        assert declared.doc.summary and "\n" not in declared.doc.summary, declared.id
        assert isinstance(declared.subject, Subject)


def test_the_native_pod_checks_run_on_pod_templates_with_full_docs() -> None:
    pod_checks = [c for c in all_checks() if c.subject is Subject.POD_TEMPLATE and c.category == NATIVE]
    assert {c.id for c in pod_checks} >= {"volume-mount", "container-port", "extended-resource", "probe"}
    assert all(c.doc.complete for c in pod_checks)


def test_every_check_has_a_three_part_doc() -> None:
    checks = all_checks()
    assert len([c for c in checks if c.run is None]) >= 55  # the core checks
    assert len([c for c in checks if c.run is not None]) >= 78  # the Ray rules
    assert [c.id for c in checks if not c.doc.complete] == []
