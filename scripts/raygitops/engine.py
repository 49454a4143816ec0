"""Engine: run every stage over the decoded sources and gather one report.

Per document, in the API server's order: identity (apiVersion/kind known),
metadata, the schema (prune, default, validate, CEL) and the native checks of
built-in kinds. Then, per bundle, the Ray rules on the defaulted documents,
and last the suppressions users wrote on their resources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .checks.native import builtin_kinds, identity, templates
from .checks.ray import Bundle, run_rules
from .checks.ray._ray import release_views
from .checks.registry import known_ids
from .config import Config
from .findings import Finding, Severity, errors, warnings
from .inputs.documents import Document
from .inputs.sources import Source
from .operator import OperatorConfig, operator_chart_gates
from .options import Options
from .report.suppress import apply_suppressions
from .schema import structural
from .schema.store import SchemaStore

__all__ = ["Options", "Report", "document_findings", "validate"]


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    resources: int = 0
    suppressed: int = 0
    suppressed_findings: list[Finding] = field(default_factory=list)  # for JSON and SARIF, each with its reason
    bundles: dict[str, str] = field(default_factory=dict)  # source label -> what the bundle is

    @property
    def errors(self) -> int:
        return errors(self.findings)

    @property
    def warnings(self) -> int:
        return warnings(self.findings)

    def summary(self) -> dict[str, int]:
        return {
            "resources": self.resources,
            "errors": self.errors,
            "warnings": self.warnings,
            "suppressed": self.suppressed,
        }


def validate(sources: list[Source], store: SchemaStore, options: Options | None = None) -> Report:
    options = options or Options()
    report = Report()
    known_rules = known_ids()
    config = options.config or Config()
    every_document = [d for source in sources for d in source.documents]
    operator = OperatorConfig(operator_chart_gates(every_document)).with_overrides(options.feature_gates)
    check = checker(store, options)
    for source in sources:
        findings = list(source.findings)
        complete = options.complete or source.is_kustomization
        for document in source.documents:
            if source.checked is not None:  # checked as it was decoded (see `checker`)
                findings.extend(source.checked.get(document.index, ()))
            else:
                findings.extend(check(document))
        if options.engine == "kubeconform":
            findings.extend(_kubeconform_findings(source, store, options))
        profile = (None if options.profile_given else config.profile_for(source.label)) or options.profile
        report.bundles[source.label] = f"{source.describe(complete)}; profile {profile}"
        bundle = Bundle(source.documents, complete=complete, operator_config=operator, external=config.external)
        findings.extend(run_rules(bundle, profile, jobs=options.jobs))
        findings = _instead_of_template_cascades(source, findings, complete)
        outcome = apply_suppressions(findings, source.documents, known_rules=known_rules)
        kept, turned_off = _config_ignores(outcome.kept, config)
        report.findings.extend(sorted(kept, key=_finding_order))
        report.suppressed += outcome.suppressed + len(turned_off)
        report.suppressed_findings.extend(outcome.removed + turned_off)
        report.resources += len(source.documents)
    return report


def checker(store: SchemaStore, options: Options) -> Callable[[Document], list[Finding]]:
    """`document_findings` with `release_views`, for decoding to run on each document as soon as it is decoded
    (`load_paths(check=...)`): on a long stream, in the forked child that decoded it, so that the document
    comes back defaulted and checked, and each document is pickled once."""

    def check(document: Document) -> list[Finding]:
        findings = document_findings(document, store, options)
        release_views(document)  # built again by the Ray rules: kept for every document, they cost memory
        return findings

    return check


def document_findings(document: Document, store: SchemaStore, options: Options) -> list[Finding]:
    """Identity, metadata, schema (defaults applied to `document.body`) and native checks of one document."""
    findings = identity.check_identity(document, store, options.unknown_group_is_error)
    if any(f.severity is Severity.ERROR for f in findings):
        return findings  # without a known kind there is no schema to check against
    findings.extend(identity.check_metadata(document, store))
    resource_schema = store.schema_for(document.api_version, document.kind)
    if resource_schema is None:
        return findings
    schema_findings = structural.validate_object(document, resource_schema)
    if options.engine == "kubeconform":
        # kubeconform judges the schema (on the pruned, defaulted body); CEL rules it cannot evaluate.
        schema_findings = [f for f in schema_findings if f.rule in structural.CEL_RULES]
    findings.extend(schema_findings)
    findings.extend(builtin_kinds.check_native(document))  # built-in kinds, and the pods inside Ray resources
    return findings


def _config_ignores(findings: list[Finding], config: Config) -> tuple[list[Finding], list[Finding]]:
    """The findings the repository config keeps, and those it turns off (each with the config's reason)."""
    if not config.ignore:
        return findings, []
    kept = [f for f in findings if f.rule not in config.ignore]
    off = [
        replace(f, suppressed_because=f"{config.source}: {config.ignore[f.rule]}")
        for f in findings
        if f.rule in config.ignore
    ]
    return kept, off


def _instead_of_template_cascades(source: Source, findings: list[Finding], complete: bool) -> list[Finding]:
    """One unrendered-template finding per templated document, in place of what its placeholders caused."""
    templated: dict[int, Finding] = {}
    for document in source.documents:
        found = templates.placeholders(document.body) if document.may_hold_placeholder else []
        if found:
            templated[document.index] = templates.template_finding(document, found, complete)
    if not templated:
        return findings
    kept = [f for f in findings if f.index not in templated]
    return kept + list(templated.values())


def _kubeconform_findings(source: Source, store: SchemaStore, options: Options) -> list[Finding]:
    from .engines import kubeconform  # imported only for this engine: it shells out

    schema_dir = options.kubeconform_schema_dir or kubeconform.default_schema_dir(store)
    return kubeconform.run_kubeconform(source.documents, schema_dir, binary=options.kubeconform_binary)


def _finding_order(finding: Finding) -> tuple[int, str, str]:
    return (finding.index if finding.index is not None else -1, finding.path, finding.rule)
