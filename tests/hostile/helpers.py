"""Run the whole validator in-process on a YAML text, as `raygitops validate -` would."""

from __future__ import annotations

from raygitops.engine import Report, validate
from raygitops.inputs.sources import Source
from raygitops.inputs.documents import load_stream
from raygitops.schema.store import SchemaStore


def check(text: str | bytes, store: SchemaStore, profile: str = "default") -> Report:
    from raygitops.engine import Options

    documents, findings = load_stream(text, "-")
    return validate([Source("-", documents, findings)], store, Options(profile=profile))


def rules(report: Report) -> set[str]:
    return {f.rule for f in report.findings}


def configmap(name: str, body: str = "") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{body}"


BAD_SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: dashboard}
spec:
  ports: [{name: dashboard, port: 70000}]
"""


def alias_bomb(levels: int = 7) -> str:
    """A 700-byte ConfigMap whose labels expand to 10**levels strings."""
    lines = ["    l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"    l{level}: &l{level} [{refs}]")
    return configmap("bomb", "  labels:\n" + "\n".join(lines) + "\n")
