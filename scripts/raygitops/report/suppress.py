"""Suppressions: a user accepts a finding on one resource, and says why.

    metadata:
      annotations:
        raygitops.io/ignore: |
          missing-limits: the batch job is sized by the queue, not by limits
          image-unpinned: nightly image on purpose in dev

Entries are separated by newlines or ';' and have the form `<rule-id>: <reason>`.
A suppression applies to the findings of that rule on that resource only (matched
by source and document index). An entry without a reason suppresses nothing and
is itself a finding, so every accepted risk carries its explanation in git.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..checks.registry import SUPPRESSION, Subject, declare
from ..findings import Finding, Severity, json_pointer
from ..inputs.documents import Document
from ..values import quote

IGNORE_ANNOTATION = "raygitops.io/ignore"

WITHOUT_REASON = declare(
    "suppression-without-reason",
    """Every raygitops.io/ignore entry has the form '<rule-id>: <reason>'; one without a reason suppresses nothing.

    Why: a suppression is an accepted risk, and the reason is what the next reader of the
    manifest needs to judge it; an entry without one is ignored and reported.

    Fails:
        metadata:
          annotations:
            raygitops.io/ignore: missing-limits

    Instead:
        metadata:
          annotations:
            raygitops.io/ignore: "missing-limits: the batch submitter is sized by the queue"
    """,
    category=SUPPRESSION,
    subject=Subject.DOCUMENT,
)
UNKNOWN_RULE = declare(
    "suppression-unknown-rule",
    """Every raygitops.io/ignore entry names a rule that exists (a typo would suppress nothing).

    Why: a misspelt id suppresses nothing, so the finding it meant to accept still fails
    the run, or worse, the author believes a risk is documented when it is not.

    Fails:
        raygitops.io/ignore: "missing-limit: sized by the queue"

    Instead:
        raygitops.io/ignore: "missing-limits: sized by the queue"
    """,
    category=SUPPRESSION,
    subject=Subject.DOCUMENT,
    severity=Severity.WARNING,
)

_RULE_ID = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class Suppression:
    rule: str
    reason: str


@dataclass
class SuppressionResult:
    kept: list[Finding]  # the findings no suppression covers, plus the suppressions' own findings
    suppressed: int  # how many findings a suppression with a reason removed
    new: list[Finding] = field(default_factory=list)  # findings about the annotations themselves (also in kept)
    removed: list[Finding] = field(default_factory=list)  # the suppressed findings, each with its reason


def parse_ignore(value: object) -> tuple[list[Suppression], list[str]]:
    """The suppressions of one annotation value, and the entries that are not `<rule-id>: <reason>`."""
    if not isinstance(value, str):
        return [], [repr(value)] if value is not None else []
    valid: list[Suppression] = []
    malformed: list[str] = []
    for entry in re.split(r"[;\n]", value):
        entry = entry.strip()
        if not entry:
            continue
        rule, colon, reason = entry.partition(":")
        rule, reason = rule.strip(), reason.strip()
        if not _RULE_ID.fullmatch(rule) or not colon or not reason:
            malformed.append(entry)
        else:
            valid.append(Suppression(rule, reason))
    return valid, malformed


def apply_suppressions(
    findings: list[Finding],
    documents: list[Document],
    known_rules: Iterable[str] | None = None,
) -> SuppressionResult:
    """Drop the findings that their resource suppresses with a reason; report bad suppressions.

    `known_rules`, when given, makes a suppression of a rule id that does not exist a
    warning: a typo there would otherwise silently suppress nothing.
    """
    by_document: dict[tuple[str, int], dict[str, str]] = {}
    new: list[Finding] = []
    known = set(known_rules) if known_rules is not None else None
    pointer = json_pointer("metadata", "annotations", IGNORE_ANNOTATION)
    for document in documents:
        if IGNORE_ANNOTATION not in document.annotations:
            continue
        suppressions, malformed = parse_ignore(document.annotations[IGNORE_ANNOTATION])
        by_document[(document.source, document.index)] = {s.rule: s.reason for s in suppressions}
        for entry in malformed:
            new.append(
                document.finding(
                    WITHOUT_REASON,
                    Severity.ERROR,
                    pointer,
                    f"suppression {quote(entry)} has no reason; write it as '<rule-id>: <why this is acceptable>'",
                )
            )
        if known is not None:
            for suppression in suppressions:
                if suppression.rule not in known:
                    new.append(
                        document.finding(
                            UNKNOWN_RULE,
                            Severity.WARNING,
                            pointer,
                            f"suppression names rule {quote(suppression.rule)}, which does not exist; "
                            "fix the id (see `raygitops rules`) or remove the entry",
                        )
                    )
    kept: list[Finding] = []
    removed: list[Finding] = []
    for finding in findings:
        rules = by_document.get((finding.source, finding.index)) if finding.index is not None else None
        if rules and finding.rule in rules and finding.rule not in (WITHOUT_REASON, UNKNOWN_RULE):
            removed.append(replace(finding, suppressed_because=f"{IGNORE_ANNOTATION}: {rules[finding.rule]}"))
        else:
            kept.append(finding)
    return SuppressionResult(kept=kept + new, suppressed=len(removed), new=new, removed=removed)
