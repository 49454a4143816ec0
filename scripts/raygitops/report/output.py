"""Output: a report as text for people, or JSON, JUnit XML and SARIF for machines.

Text is one line per finding, compiler style, so editors and CI logs can jump
to it: `SOURCE[:LINE]#DOC: SEVERITY: KIND/NAMESPACE/NAME PATH: MESSAGE [RULE]`.
A message of several lines (a tool's error) keeps its first line there and
its detail indented under it.

Every format is well-formed whatever the input holds: text and JUnit escape
control characters (ESC, CR, NUL... as \\x1b), which would otherwise reach a
terminal or a CI log, or make the XML ill-formed; JSON and SARIF escape them
as JSON does.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable

from .. import __version__
from ..checks.registry import UnknownCheck, check
from ..engine import Report
from ..findings import Finding, Severity
from .ruledocs import check_help_markdown, help_uri

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def format_report(report: Report, output: str, quiet: bool = False) -> str:
    """`quiet` (--quiet) leaves warnings and the bundle lines out of the text output; the counts stay whole."""
    if output == "text":
        return _text(report, quiet)
    writers: dict[str, Callable[[Report], str]] = {
        "json": _json,
        "junit": _junit,
        "sarif": _sarif,
    }
    return writers[output](report)


# C0 and C1 control characters, DEL, lone surrogates and the two non-characters XML 1.0 refuses.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def escape_controls(text: str) -> str:
    """`text` with every control character written as an escape (\\x1b), so it prints as it reads."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def text_line(finding: Finding) -> str:
    subject = " ".join(part for part in (finding.resource, finding.path) if part)
    subject = f"{subject}: " if subject else ""
    rendered_in = f" (rendered in {finding.target})" if finding.target else ""
    first, *detail = finding.message.strip("\n").split("\n")
    line = escape_controls(f"{finding.location}: {finding.severity}: {subject}{first} [{finding.rule}]{rendered_in}")
    return "\n".join([line, *(f"    {escape_controls(d)}" for d in detail if d.strip())])


def _text(report: Report, quiet: bool = False) -> str:
    lines = [text_line(f) for f in report.findings if not quiet or f.severity is Severity.ERROR]
    if not quiet:
        lines.extend(f"bundle {label}: {what}" for label, what in report.bundles.items())
    suppressed = f", {report.suppressed} suppressed" if report.suppressed else ""
    lines.append(f"{report.resources} resources: {report.errors} errors, {report.warnings} warnings{suppressed}")
    return "\n".join(lines) + "\n"


def _json(report: Report) -> str:
    # Suppressed findings stay in the output for auditors, marked with their reason; the counts exclude them.
    findings = [f.to_dict() for f in report.findings] + [f.to_dict() for f in report.suppressed_findings]
    data = {"findings": findings, "bundles": report.bundles, "summary": report.summary()}
    return json.dumps(data, indent=2) + "\n"


def _junit(report: Report) -> str:
    """One test suite per source, one test case per resource; errors fail it."""
    suites = ET.Element("testsuites", name="raygitops validate", tests=str(report.resources))
    by_source: dict[str, dict[str, list[Finding]]] = {}
    for finding in report.findings:
        case = finding.resource or (f"document {finding.index}" if finding.index is not None else "(source)")
        by_source.setdefault(finding.source, {}).setdefault(case, []).append(finding)
    total_failures = 0
    for source, cases in by_source.items():
        failures = sum(1 for fs in cases.values() if any(f.severity is Severity.ERROR for f in fs))
        total_failures += failures
        source = escape_controls(source)  # XML 1.0 cannot hold most control characters, escaped or not
        suite = ET.SubElement(suites, "testsuite", name=source, tests=str(len(cases)), failures=str(failures))
        for case_name, findings in cases.items():
            testcase = ET.SubElement(suite, "testcase", classname=source, name=escape_controls(case_name))
            for finding in findings:
                if finding.severity is Severity.ERROR:
                    failure = ET.SubElement(
                        testcase, "failure", type=finding.rule, message=escape_controls(finding.message)
                    )
                    failure.text = text_line(finding)
            notes = [text_line(f) for f in findings if f.severity is Severity.WARNING]
            if notes:
                ET.SubElement(testcase, "system-out").text = "\n".join(notes)
    suites.set("failures", str(total_failures))
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _sarif(report: Report) -> str:
    every = report.findings + report.suppressed_findings
    rule_ids = sorted({f.rule for f in every})
    rules = [_sarif_rule(rule_id) for rule_id in rule_ids]
    results = [_sarif_result(f, rule_ids.index(f.rule)) for f in every]
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "raygitops",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _sarif_rule(rule_id: str) -> dict[str, object]:
    """A reportingDescriptor from the registry: summary, the three-part doc as help, its docs/rules.md section."""
    try:
        declared = check(rule_id)
    except UnknownCheck:  # only a finding made outside the engine carries an undeclared id
        return {"id": rule_id, "shortDescription": {"text": rule_id}}
    help_text = "\n\n".join(part for part in (declared.doc.summary, declared.doc.why) if part)
    return {
        "id": rule_id,
        "shortDescription": {"text": declared.doc.summary},
        "help": {"text": help_text, "markdown": check_help_markdown(declared)},
        "helpUri": help_uri(declared),
        "defaultConfiguration": {"level": "error" if declared.severity is Severity.ERROR else "warning"},
        "properties": {"category": declared.category, "subject": declared.subject.value},
    }


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, object]:
    physical: dict[str, object] = {"artifactLocation": {"uri": finding.source or "stdin"}}
    if finding.line is not None:
        physical["region"] = {"startLine": finding.line}
    location: dict[str, object] = {"physicalLocation": physical}
    if finding.resource or finding.path:
        location["logicalLocations"] = [{"fullyQualifiedName": f"{finding.resource}{finding.path}", "kind": "object"}]
    result: dict[str, object] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": "error" if finding.severity is Severity.ERROR else "warning",
        "message": {"text": finding.message + (f" (rendered in {finding.target})" if finding.target else "")},
        "locations": [location],
    }
    if finding.suppressed_because:  # SARIF's own way: the viewer shows it as suppressed, with the justification
        kind = "inSource" if finding.suppressed_because.startswith("raygitops.io/ignore") else "external"
        result["suppressions"] = [{"kind": kind, "justification": finding.suppressed_because}]
    return result


def rules_table(rows: Iterable[tuple[str, str, str, str]]) -> str:
    """`raygitops rules` as text: id, severity, category, doc."""
    lines = [f"{rid:<40} {sev:<8} {cat:<12} {doc}" for rid, sev, cat, doc in rows]
    return "\n".join(lines) + "\n"
