"""The fast path reports exactly what the reference engine reports, line numbers included.

Fast path: what `raygitops validate` runs (the yaml-rs decoder, each document's
subjects built once, rules picked by kind, `Bundle.find` through its index, the
placeholder walk only where the JSON text has `$` or `{{`, lines read from the
parser's events of one document). Reference: the simplest form of each stage
(PyYAML's decoder, every rule asked about every document with its subjects built
afresh, a scan of the bundle for every lookup, the walk over every value, every
document of the file composed as nodes). Same findings, in the same order, on
the benchmark's bundles, the rendered overlays, the overlays as kustomizations
and every rule's fixtures.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import pytest
import yaml

from raygitops import engine
from raygitops.checks import subjects
from raygitops.checks.native import templates
from raygitops.checks.ray import ANY_KIND, Bundle, Subject, _run, all_rules
from raygitops.engine import Options, validate
from raygitops.findings import Finding, pointer_parts
from raygitops.inputs.documents import Document, load_stream
from raygitops.inputs.sources import Source, load_paths
from raygitops.report import locate
from raygitops.schema.store import SchemaStore
from tests.rules.cases import CASES

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_validate import generate_bundle  # noqa: E402

BENCH_SIZES = (500, 2000, 8000, 20000)  # what `make bench-validate` times


def reference_run_rules(bundle: Bundle, profile: str = "default", only: object = None, jobs: int = 1) -> list[Finding]:
    """Every rule asked about every document, each subject built afresh (no view kept), in this process only."""
    assert only is None
    findings: list[Finding] = []
    rules = all_rules()
    for rule in (r for r in rules if r.subject is Subject.BUNDLE):
        findings.extend(_run(rule, bundle.documents[0] if bundle.documents else None, profile, bundle, (bundle,)))
    for document in bundle.documents:
        for rule in rules:
            if rule.subject is Subject.BUNDLE or (ANY_KIND not in rule.kinds and document.kind not in rule.kinds):
                continue
            for subject in fresh_subjects(document, rule.subject):
                findings.extend(_run(rule, document, profile, bundle, (subject, bundle)))
    return findings


def fresh_subjects(document: Document, subject: Subject) -> tuple[object, ...]:
    # subjects' own builders, called directly: the runner under test keeps what they build on the document
    if subject is Subject.POD_TEMPLATE:
        return tuple(subjects._find_pod_templates(document))
    if subject is Subject.JOB:
        return subjects._find_jobs(document)
    return subjects.subjects_of(document, subject)


def reference_find(bundle: Bundle, kind: str, name: str, namespace: str = "") -> Document | None:
    for document in bundle.documents:
        if document.kind != kind or document.name != name:
            continue
        if not namespace or not document.namespace or document.namespace == namespace:
            return document
    return None


class NodeFile(locate._File):
    """A file with every document composed as nodes (PyYAML's C composer), the pointer walked on the nodes."""

    @cached_property
    def nodes(self) -> list[yaml.Node | None]:  # type: ignore[override]
        loader = yaml.CSafeLoader(self.raw)
        found: list[yaml.Node | None] = []
        try:
            while loader.check_node():
                found.append(loader.get_node())
        except yaml.YAMLError:
            pass
        return found

    def line(self, index: int, pointer: str) -> int | None:
        nodes = self.nodes
        if not 0 <= index < len(nodes) or nodes[index] is None:
            return None
        node = nodes[index]
        line = node.start_mark.line + 1
        for part in pointer_parts(pointer):
            if isinstance(node, yaml.MappingNode):
                match = next((v_k for v_k in node.value if v_k[0].value == str(part)), None)
                if match is None or not isinstance(match[0], yaml.ScalarNode):
                    break
                node, line = match[1], match[0].start_mark.line + 1
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


class ReferenceLocator(locate.Locator):
    def _file(self, path: str) -> locate._File | None:
        if path not in self.files:
            self.files[path] = NodeFile(Path(path).read_bytes())
        return self.files[path]


def fast_findings(target: Path, store: SchemaStore, options: Options) -> list[dict]:
    """As `raygitops validate` runs: each document checked as it is decoded, on several cores where the
    bundle is long enough (three jobs, more than a CI machine's cores: the shards still come back in order)."""
    options = replace(options, jobs=3)
    sources = load_paths([str(target)], jobs=options.jobs, check=engine.checker(store, options))
    report = validate(sources, store, options)
    return [f.to_dict() for f in locate.locate_findings(report.findings, sources, options.jobs)]


def reference_findings(
    target: Path, store: SchemaStore, monkeypatch: pytest.MonkeyPatch, options: Options
) -> list[dict]:
    if target.is_file():
        documents, decode_findings = load_stream(target.read_bytes(), str(target))
        sources = [Source(str(target), documents, decode_findings)]
    else:  # a kustomization, rendered as `validate` renders it (test_fast_documents compares its decoding)
        sources = load_paths([str(target)])
    with monkeypatch.context() as patch:
        patch.setattr(engine, "run_rules", reference_run_rules)
        patch.setattr(Bundle, "find", reference_find)
        patch.setattr(templates, "_may_hold_placeholder", lambda body: True)
        report = validate(sources, store, options)
    locator = ReferenceLocator(sources)
    return [locator.locate(f).to_dict() for f in report.findings]


def assert_same_findings(
    target: Path, store: SchemaStore, monkeypatch: pytest.MonkeyPatch, options: Options | None = None
) -> list[dict]:
    options = options or Options()
    fast = fast_findings(target, store, options)
    assert fast == reference_findings(target, store, monkeypatch, options)
    return fast


@pytest.mark.parametrize("size", BENCH_SIZES)
def test_benchmark_bundles_report_the_same(size, tmp_path, schema_store, monkeypatch):
    bundle = tmp_path / f"bundle-{size}.yaml"
    bundle.write_text(yaml.safe_dump_all(generate_bundle(size), sort_keys=False))
    findings = assert_same_findings(bundle, schema_store, monkeypatch)
    assert len(findings) == size // 5  # each RayService without GCS fault tolerance: the comparison is not empty
    assert all(f["line"] is not None for f in findings)


@pytest.mark.parametrize("path", sorted((REPO / "rendered").glob("*.yaml")), ids=lambda p: p.name)
def test_rendered_overlays_report_the_same(path, schema_store, monkeypatch):
    assert_same_findings(path, schema_store, monkeypatch)


@pytest.mark.parametrize("overlay", sorted(p.parent for p in (REPO / "overlays").glob("*/kustomization.yaml")),
                         ids=lambda p: p.name)
def test_overlays_as_kustomizations_report_the_same(overlay, schema_store, monkeypatch):
    assert_same_findings(overlay, schema_store, monkeypatch)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fixtures_report_the_same(rule_id, tmp_path, schema_store, monkeypatch):
    for which in ("passing", "failing"):
        path = tmp_path / f"{which}.yaml"
        path.write_text(getattr(CASES[rule_id], which))
        # Complete, as the rule catalogue runs them: some rules report only what a complete bundle lacks.
        findings = assert_same_findings(path, schema_store, monkeypatch, Options(complete=True))
        if which == "failing":
            assert rule_id in {f["rule"] for f in findings}


# Placeholders wherever they may hide (values, keys, embedded, Go templates, free text, self-templating kinds).
TEMPLATED = [
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{ .Values.name }}'}\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, labels: {$KEY: x}}\ndata: {a: $NOT_CHECKED}\n",
    "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: 'ray-${JOB_ID}'}\nspec:\n"
    "  workerGroupSpecs: [{groupName: w, replicas: $INITIAL_WORKERS}]\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n"
    "      containers: [{name: c, image: x, command: ['echo $HOME'], env: [{name: A, value: '${B}'}]}]\n",
    "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: r}\nspec:\n"
    "  groups: [{name: g, rules: [{alert: A, expr: up == 0, annotations: {summary: '{{ $labels.job }}'}}]}]\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: cost $5}\nbinaryData: {b: aGk=}\n",
]


@pytest.mark.parametrize("text", TEMPLATED)
def test_templated_streams_report_the_same(text, tmp_path, schema_store, monkeypatch):
    path = tmp_path / "templated.yaml"
    path.write_text(text)
    assert_same_findings(path, schema_store, monkeypatch)
