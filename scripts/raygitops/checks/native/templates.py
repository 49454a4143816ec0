"""Unrendered templates: a manifest that still holds `$VAR`, `${VAR}` or `{{ ... }}` where a value belongs.

Tutorials ship manifests meant for `envsubst` or `helm template`. Validated as they
are, one placeholder (`replicas: $INITIAL_WORKERS`, `name: ray-${JOB_ID}`) would
produce a cascade of schema and name errors about the same value; instead the
document gets one finding saying to render it first, and its other findings are
dropped (they judge text that is not what the cluster will see).

Free text that a shell or a program expands itself is not a placeholder: a
container's command, args and env values, rayStartParams (`ray start` runs in a
shell), ConfigMap data, annotations, serveConfigV2, a RayJob's entrypoint. A
Secret's `data` and a ConfigMap's `binaryData` are base64, where `$` and `{`
cannot stand, so a variable there is a placeholder. An unquoted `{{.Name}}` is
read by YAML as a mapping nested in a mapping; it is recognised as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ...findings import Finding, Severity
from ...inputs.documents import Document
from ..registry import RENDER, declare

UNRENDERED_TEMPLATE = declare(
    "unrendered-template",
    """A value is an unrendered $VAR, ${VAR} or {{ ... }} placeholder: render with envsubst or helm first.

    Why: tutorials ship manifests meant for `envsubst` or `helm template`; applied as they are, the placeholder
    reaches the API server as text and the object is rejected or wrong. Validated as they are, one placeholder
    would cause a cascade of schema and name errors, so the document gets this one finding instead (an error in a
    kustomization's render, which is applied as is; a warning in a file given alone).

    Fails:
        kind: RayCluster
        metadata: {name: ray-${JOB_ID}}
        spec:
          workerGroupSpecs:
          - groupName: workers
            replicas: $INITIAL_WORKERS

    Instead:
        # envsubst < raycluster.yaml > rendered.yaml, then validate rendered.yaml
        kind: RayCluster
        metadata: {name: ray-train-42}
        spec:
          workerGroupSpecs:
          - groupName: workers
            replicas: 2
    """,
    category=RENDER,
    severity=Severity.WARNING,
)

# A whole value that is a shell or envsubst variable, or one that holds a Go template action.
_WHOLE_VARIABLE = re.compile(r"\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)")
# Inside a longer value: ${VAR}, or $VAR in capitals as envsubst variables are written (ray-$JOB_ID,
# $REGISTRY/ray:$TAG); a lowercase `$name` may be text of its own (a path such as /$metrics).
_EMBEDDED_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Z_][A-Z0-9_]*\b")
_GO_TEMPLATE = re.compile(r"\{\{.*?\}\}")

# Keys whose values are free text expanded at run time, or opaque data: never placeholders.
FREE_TEXT_KEYS = frozenset(
    {
        "command",
        "args",
        "env",
        "rayStartParams",
        "data",
        "stringData",
        "binaryData",
        "annotations",
        "serveConfigV2",
        "entrypoint",
        "runtimeEnvYAML",
        "script",
        "value",
        "description",
        "message",
        "expr",
    }
)


# Kinds whose controllers render `{{ }}` themselves: an ApplicationSet's template, alert templates.
SELF_TEMPLATING_KINDS = frozenset({"ApplicationSet", "PrometheusRule", "AlertmanagerConfig"})


# Top-level fields of base64 data, by kind: no placeholder can pass for base64 text.
_BASE64_DATA = {"Secret": ("data",), "ConfigMap": ("binaryData",)}


def placeholders(body: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Each (path, value) of the document that is an unrendered placeholder, in document order."""
    kind = body.get("kind")
    if isinstance(kind, str) and kind in SELF_TEMPLATING_KINDS:  # a mangled kind (a list) is not hashable
        return []
    found = list(_walk(body, ()))
    for field in _BASE64_DATA.get(kind, ()) if isinstance(kind, str) else ():
        values = body.get(field)
        if isinstance(values, dict):
            found.extend(
                ((field, str(key)), value)
                for key, value in values.items()
                if isinstance(value, str) and _is_placeholder(value)
            )
    return found


def _go_template_read_as_yaml(value: Any) -> str | None:
    """`{{.Name}}` unquoted: YAML reads a flow mapping whose only key is the mapping {.Name: null}."""
    if not (isinstance(value, dict) and len(value) == 1):
        return None
    [(key, child)] = value.items()
    if child is not None or not isinstance(key, frozenset) or len(key) != 1:
        return None
    [(action, empty)] = key
    return f"{{{{{action}}}}}" if isinstance(action, str) and empty is None else None


def _walk(value: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    template = _go_template_read_as_yaml(value)
    if template is not None:
        yield path, template
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and key in FREE_TEXT_KEYS:
                continue
            if isinstance(key, str) and _is_placeholder(key):
                yield (*path, key), key
            yield from _walk(child, (*path, str(key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, (*path, index))
    elif isinstance(value, str) and _is_placeholder(value):
        yield path, value


def _is_placeholder(text: str) -> bool:
    stripped = text.strip()
    return bool(
        _WHOLE_VARIABLE.fullmatch(stripped) or _EMBEDDED_VARIABLE.search(stripped) or _GO_TEMPLATE.search(stripped)
    )


def template_finding(document: Document, found: list[tuple[tuple[str | int, ...], str]], complete: bool) -> Finding:
    """One finding for the document, at its first placeholder, naming how many there are."""
    path, value = found[0]
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    severity = Severity.ERROR if complete else Severity.WARNING
    return document.finding(
        UNRENDERED_TEMPLATE,
        severity,
        path,
        f"unrendered template placeholder {value!r}{more}: render with envsubst or helm first; "
        "the other checks of this resource are skipped",
    )
