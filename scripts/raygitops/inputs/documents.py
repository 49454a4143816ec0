"""Documents: decode a YAML stream into Kubernetes objects, the way kubectl does.

kubectl decodes strictly: a YAML syntax error, a duplicate mapping key, or a
document that is not a mapping stops it. Empty documents (`---` with nothing
after it) are skipped. Everything wrong here becomes a finding; this module
never raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml

from ..checks.registry import DECODE, Subject, declare
from ..findings import Finding, Severity, json_pointer

# Rule ids this stage reports, with their one-line docs (listed by `raygitops rules`).
declare(
    "yaml-syntax",
    """The stream must be valid YAML; the finding gives the line and column.

    Why: kubectl and Argo CD refuse the whole file, so nothing in it is applied; the finding names the line and
    column where parsing stopped.

    Fails:
        metadata:
          name: rc
           labels: {app: ray}

    Instead:
        metadata:
          name: rc
          labels: {app: ray}
    """,
    category=DECODE,
    subject=Subject.STREAM,
)
declare(
    "yaml-encoding",
    """Manifests must be UTF-8 text.

    Why: Kubernetes manifests are UTF-8; a file saved as Latin-1 or UTF-16 cannot be decoded by kubectl.

    Fails:
        # a file saved as UTF-16 by an editor

    Instead:
        # the same file saved as UTF-8
    """,
    category=DECODE,
    subject=Subject.STREAM,
)
declare(
    "yaml-duplicate-key",
    """A mapping must not repeat a key (kubectl's strict decoding rejects it).

    Why: YAML keeps the last of two equal keys silently, so half of what was written is lost; kubectl's strict
    decoding rejects the object.

    Fails:
        resources:
          limits: {cpu: "2"}
          limits: {memory: 4Gi}

    Instead:
        resources:
          limits: {cpu: "2", memory: 4Gi}
    """,
    category=DECODE,
    subject=Subject.STREAM,
)
declare(
    "document-not-mapping",
    """Each non-empty document must be a mapping (an object), not a list or a scalar.

    Why: the API server expects one object per document; a list or a scalar is not a resource.

    Fails:
        - apiVersion: v1
          kind: ConfigMap

    Instead:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
    """,
    category=DECODE,
    subject=Subject.STREAM,
)

# The C loader is ~10x faster on rendered overlays of thousands of lines; PyYAML built without
# libyaml has only the Python one. Every YAML reader of the package uses this one.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseLoader = SAFE_LOADER


class _DuplicateKey(yaml.MarkedYAMLError):
    pass


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that rejects duplicate keys and keeps timestamps as strings.

    Kubernetes objects are JSON: `2024-01-01` in a label value is a string to the
    API server, so YAML 1.1 timestamp resolution must not turn it into a date.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.tag == "tag:yaml.org,2002:str":
                key = key_node.value  # nearly every key: compare the text, construct nothing twice
            else:
                key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key (a list); the base class reports it
                continue
            if duplicate:
                raise _DuplicateKey(
                    "while constructing a mapping",
                    node.start_mark,
                    f'duplicate key "{key}" (first defined on line {seen[key].start_mark.line + 1})',
                    key_node.start_mark,
                )
            seen[key] = key_node
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_yaml_map)


@dataclass
class Document:
    """One Kubernetes object from a source, with where it came from.

    `body` is what the API server would store: after the schema stage has run,
    nulls are pruned and defaults applied, so later rules see defaulted values.
    The identity (apiVersion, kind, name, namespace) is read once: no stage
    changes it, and reference rules compare it across every pair of resources.
    """

    source: str
    index: int
    body: dict[str, Any]
    line: int = 1

    @cached_property
    def api_version(self) -> str:
        value = self.body.get("apiVersion")
        return value if isinstance(value, str) else ""

    @cached_property
    def kind(self) -> str:
        value = self.body.get("kind")
        return value if isinstance(value, str) else ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def metadata(self) -> dict[str, Any]:
        value = self.body.get("metadata")
        return value if isinstance(value, dict) else {}

    @cached_property
    def name(self) -> str:
        value = self.metadata.get("name") or self.metadata.get("generateName")
        return value if isinstance(value, str) else ""

    @cached_property
    def namespace(self) -> str:
        value = self.metadata.get("namespace")
        return value if isinstance(value, str) else ""

    @property
    def labels(self) -> dict[str, Any]:
        value = self.metadata.get("labels")
        return value if isinstance(value, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        value = self.metadata.get("annotations")
        return value if isinstance(value, dict) else {}

    @property
    def spec(self) -> dict[str, Any]:
        value = self.body.get("spec")
        return value if isinstance(value, dict) else {}

    def finding(
        self,
        rule: str,
        severity: Severity,
        path: str | tuple[str | int, ...],
        message: str,
    ) -> Finding:
        """A finding about this document; `path` is a JSON pointer or its parts."""
        pointer = path if isinstance(path, str) else json_pointer(*path)
        return Finding(
            severity=severity,
            rule=rule,
            message=message,
            source=self.source,
            index=self.index,
            api_version=self.api_version,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
            path=pointer,
            line=self.line,
        )


def _decode_error(source: str, index: int | None, rule: str, message: str, line: int | None) -> Finding:
    return Finding(severity=Severity.ERROR, rule=rule, message=message, source=source, index=index, line=line)


def load_stream(data: str | bytes, source: str) -> tuple[list[Document], list[Finding]]:
    """Decode every document of a YAML stream.

    Returns the objects and the decoding findings. A syntax error ends the
    stream there (as it does for kubectl); documents before it are kept.
    """
    findings: list[Finding] = []
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return [], [
                _decode_error(
                    source,
                    None,
                    "yaml-encoding",
                    f"file is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}; "
                    "Kubernetes manifests must be UTF-8 text",
                    None,
                )
            ]
    documents: list[Document] = []
    loader = _StrictLoader(data)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else None
            body = loader.construct_document(node) if node is not None else None
            if body is None:  # an empty document: kubectl skips it
                index += 1
                continue
            if not isinstance(body, dict):
                findings.append(
                    _decode_error(
                        source,
                        index,
                        "document-not-mapping",
                        f"document is a {_yaml_type(body)}, expected a mapping with apiVersion, kind and metadata",
                        line,
                    )
                )
            elif (bad_key := next((k for k in body if not isinstance(k, str)), None)) is not None:
                findings.append(
                    _decode_error(
                        source,
                        index,
                        "yaml-syntax",
                        f"mapping key {bad_key!r} is a {_yaml_type(bad_key)}, expected a string",
                        line,
                    )
                )
            else:
                documents.append(Document(source=source, index=index, body=body, line=line or 1))
            index += 1
    except _DuplicateKey as exc:
        findings.append(_mark_error(source, index, "yaml-duplicate-key", exc))
    except yaml.MarkedYAMLError as exc:
        findings.append(_mark_error(source, index, "yaml-syntax", exc))
    except yaml.YAMLError as exc:  # unmarked errors, e.g. from the reader
        findings.append(_decode_error(source, index, "yaml-syntax", f"invalid YAML: {exc}", None))
    except RecursionError:
        findings.append(_decode_error(source, index, "yaml-syntax", "YAML nested too deeply to decode", None))
    except (TypeError, ValueError) as exc:  # e.g. a list used as a mapping key
        findings.append(_decode_error(source, index, "yaml-syntax", f"invalid YAML: {exc}", None))
    finally:
        loader.dispose()
    return documents, findings


def _mark_error(source: str, index: int, rule: str, exc: yaml.MarkedYAMLError) -> Finding:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    column = f", column {mark.column + 1}" if mark is not None else ""
    problem = exc.problem or exc.context or "invalid YAML"
    where = f"line {line}{column}: " if line is not None else ""
    return _decode_error(source, index, rule, f"{where}{problem}", line)


def _yaml_type(value: Any) -> str:
    if isinstance(value, list):
        return "sequence"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__
