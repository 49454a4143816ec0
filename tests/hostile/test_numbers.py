"""NaN, infinities and huge integers anywhere are findings that say what was expected, never rule-crashed."""

from __future__ import annotations

import pytest

from .helpers import check, rules

BIG = "9" * 400


def ray_job(resources: str = "", group: str = "", job: str = "") -> str:
    container = "{name: head, image: 'rayproject/ray:2.60.0-py311'" + (f", resources: {resources}" if resources else "") + "}"
    worker = ("{groupName: w, rayStartParams: {}, template: {spec: {containers: [" + container.replace("head", "w", 1) + "]}}"
              + (f", {group}" if group else "") + "}")
    return (
        "apiVersion: ray.io/v1\nkind: RayJob\nmetadata: {name: j}\nspec:\n"
        f"  entrypoint: python train.py --num-workers 2 --cpus-per-worker 1\n{job}"
        "  rayClusterSpec: {rayVersion: '2.60.0', headGroupSpec: {rayStartParams: {}, template: {spec: {containers: ["
        + container + "]}}}, workerGroupSpecs: [" + worker + "]}\n"
    )


@pytest.mark.parametrize("number", [".inf", "-.inf", ".nan", BIG, "1e999"])
@pytest.mark.parametrize("field", ["cpu", "memory", "nvidia.com/gpu"])
def test_non_finite_or_huge_resources_are_quantity_findings(schema_store, number, field):
    report = check(ray_job(resources=f"{{limits: {{{field}: {number}}}, requests: {{{field}: {number}}}}}"), schema_store)
    assert "rule-crashed" not in rules(report), [f.message for f in report.findings if f.rule == "rule-crashed"]
    if number in (".inf", "-.inf", ".nan"):  # BIG and the string 1e999 are quantities to the API server
        quantity = [f for f in report.findings if f"/resources/limits/{field.replace('/', '~1')}" in f.path]
        messages = [f.message for f in report.findings]
        # The schema says why (no JSON form); the pod checks, which reach Ray pods too, say what a quantity is.
        assert any(f.rule == "schema-type" and "expected a finite number" in f.message for f in quantity), messages
        assert all("expected a finite number" in f.message or "must be a quantity" in f.message for f in quantity), messages


@pytest.mark.parametrize("number", [".inf", "-.inf", ".nan", BIG])
@pytest.mark.parametrize(
    "where",
    ["group:replicas", "group:minReplicas", "group:maxReplicas", "job:activeDeadlineSeconds",
     "job:ttlSecondsAfterFinished", "job:entrypointNumCpus", "job:entrypointNumGpus"],
)
def test_non_finite_or_huge_counts_and_deadlines_are_findings(schema_store, number, where):
    place, field = where.split(":")
    text = ray_job(group=f"{field}: {number}") if place == "group" else ray_job(job=f"  {field}: {number}\n")
    report = check(text, schema_store)
    assert "rule-crashed" not in rules(report), [f.message for f in report.findings if f.rule == "rule-crashed"]
    [finding] = [f for f in report.findings if f.path.endswith("/" + field) and f.rule.startswith("schema-")]
    assert "expected" in finding.message and len(finding.message) < 300


@pytest.mark.parametrize("number", [".inf", ".nan", BIG])
def test_non_finite_ports_are_findings(schema_store, number):
    text = f"apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec:\n  ports: [{{name: http, port: {number}}}]\n"
    report = check(text, schema_store)
    found = [f for f in report.findings if f.path == "/spec/ports/0/port"]
    assert found and all("expected" in f.message or "must be" in f.message for f in found), [f.message for f in found]
