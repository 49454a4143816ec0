"""Findings: the one result type every stage of the validator produces.

A finding is what a user acts on, so it carries everything needed to find the
problem without re-running anything: where (source, document index, resource
identity, JSON pointer) and what (rule id, severity, message).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields, replace
from typing import Any


class Severity(enum.StrEnum):  # f-strings print "error", not "Severity.ERROR"
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    rule: str
    message: str
    source: str = ""  # the file or overlay the document came from ("-" for stdin)
    index: int | None = None  # 0-based position of the document in that source
    api_version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # RFC 6901 JSON pointer to the field, "" for the whole document
    line: int | None = None  # 1-based line of the field, where known
    # Why a user accepted this finding (a raygitops.io/ignore entry, or the config's ignore list);
    # "" when it is not suppressed. Suppressed findings appear in JSON and SARIF only, marked so.
    suppressed_because: str = ""
    target: str = ""  # the kustomization the resource was rendered in, when `source` is the file it came from

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _FIELD_NAMES}  # every field is a scalar: no deep copy
        data["severity"] = self.severity.value
        data["apiVersion"] = data.pop("api_version")
        reason = data.pop("suppressed_because")
        if reason:
            data["suppressed"] = {"reason": reason}
        return data

    @property
    def location(self) -> str:
        """`source#index` (or `source:line`), the way a user opens the file."""
        where = self.source or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.index is not None:
            where += f"#{self.index}"
        return where

    @property
    def resource(self) -> str:
        """`Kind/namespace/name`, or what of it is known."""
        parts = [p for p in (self.kind, self.namespace, self.name) if p]
        return "/".join(parts)


_FIELD_NAMES = tuple(f.name for f in fields(Finding))


def json_pointer(*parts: str | int) -> str:
    """Build an RFC 6901 pointer: ("metadata", "labels", "a/b") -> /metadata/labels/a~1b."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "".join("/" + p for p in escaped)


def field_name(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """("spec", "ports", 0, "port") -> spec.ports[0].port, the way kubectl names a field."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def pointer_parts(pointer: str) -> list[str | int]:
    """/spec/ports/0/port -> ["spec", "ports", 0, "port"] (RFC 6901 unescaped)."""
    if not pointer.strip("/"):
        return []
    parts: list[str | int] = []
    for raw in pointer.strip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(part) if part.isdigit() else part)
    return parts


def errors(findings: list[Finding]) -> int:
    return sum(1 for f in findings if f.severity is Severity.ERROR)


def warnings(findings: list[Finding]) -> int:
    return sum(1 for f in findings if f.severity is Severity.WARNING)
