"""Documents: decode a YAML stream into Kubernetes objects, the way kubectl does.

kubectl decodes strictly: a YAML syntax error, a duplicate mapping key, or a
document that is not a mapping stops it. Empty documents (`---` with nothing
after it) are skipped. Everything wrong here becomes a finding; this module
never raises on bad input.

Before a document is built, its node graph is measured, so no later stage
walks something unbounded: excessive aliasing (an alias bomb) is refused as
kubectl's YAML library refuses it, nesting is bounded, and a document larger
than the API server's request limit is refused. Each is a finding on that
document; the documents around it are still checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import yaml

from ..checks.registry import DECODE, Subject, declare
from ..findings import Finding, Severity, json_pointer
from ..values import MESSAGE_LIMIT, short_text

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
NOT_A_MANIFEST = declare(
    "not-a-manifest",
    """A YAML document with neither apiVersion nor kind (a CI workflow, Helm values) is skipped, with one line saying so.

    Why: a folder walk meets YAML that is not a Kubernetes object (a GitHub workflow, Helm values, tool
    configuration); judged as a manifest it would get schema errors about nothing (`on:` is the boolean key True),
    so it is skipped and the skip is reported once. A kustomization file given by name
    (kustomize.config.k8s.io) is kustomize's input, never sent to the API server: it is skipped the same way,
    saying to validate its folder, which renders it.

    Fails:
        # .github/workflows/ci.yaml found in a folder walk
        on: [push]
        jobs:
          test: {runs-on: ubuntu-latest}

    Instead:
        # .raygitops.yaml: leave the folder out of the walk
        exclude: [".github/**"]
    """,
    category=DECODE,
    subject=Subject.STREAM,
    severity=Severity.WARNING,
)

# The API server's limit on a request body (apiserver's MaxRequestBodyBytes, 3 MiB).
MAX_REQUEST_BYTES = 3 * 1024 * 1024
# Nesting bound: no Kubernetes schema comes near it, and every later stage stays within
# Python's recursion limit. (The API server's JSON decoder stops at 10,000 levels.)
MAX_DEPTH = 100

# go-yaml's alias budget (yaml.v2/v3 decode.go, allowedAliasRatio): beyond 100 nodes reached through
# aliases and 1,000 nodes in all, at most 99% may come from aliases up to 400,000 nodes, falling to 10% at 4,000,000.
_ALIAS_MIN, _DECODE_MIN = 100, 1000
_RATIO_LOW, _RATIO_HIGH = 400_000, 4_000_000

declare(
    "yaml-excessive-aliasing",
    """A document must not expand aliases excessively (an alias bomb); kubectl refuses it.

    Why: a few hundred bytes of anchors and aliases can expand to billions of nodes; kubectl's YAML library
    (go-yaml) refuses a document whose aliases expand past its budget, and so does raygitops, before building it.
    The other documents of the stream are still checked.

    Fails:
        kind: ConfigMap
        data:
          a: &a [x, x, x, x, x, x, x, x, x, x]
          b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
          c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
          d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]

    Instead:
        kind: ConfigMap
        data:
          a: x  # write each value once; anchors for a few shared blocks are fine
    """,
    category=DECODE,
    subject=Subject.STREAM,
)
declare(
    "document-too-deep",
    f"""A document must not nest more than {MAX_DEPTH} levels; deeper ones are not checked.

    Why: no Kubernetes object nests anywhere near {MAX_DEPTH} levels, and a document that does is built to exhaust
    the tools that read it; raygitops reports it and checks the other documents of the stream.

    Fails:
        kind: ConfigMap
        data:
          config: [[[[[[ ... ]]]]]]  # {MAX_DEPTH + 1} lists, each inside the last

    Instead:
        kind: ConfigMap
        data:
          config: '[[[[[[ ... ]]]]]]'  # a deep structure kept as text (JSON), parsed by the program that needs it
    """,
    category=DECODE,
    subject=Subject.STREAM,
)
declare(
    "request-too-large",
    """A document must fit the API server's request limit (3 MiB).

    Why: the API server refuses a request body over 3 MiB (MaxRequestBodyBytes), so such an object can never be
    applied; raygitops reports it without building it and checks the other documents of the stream.

    Fails:
        kind: ConfigMap
        data:
          model.bin: <4 MiB of text>

    Instead:
        kind: ConfigMap
        data:
          model-uri: s3://models/model.bin  # large files live in a volume, an image or object storage
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


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """An integer; past Python's 4,300-digit conversion limit a string, as go-yaml keeps numbers it cannot parse."""
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:
        return node.value


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
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
    # False when the decoder saw neither `$` nor `{{` in the document's text: no placeholder can be in
    # it (see checks/native/templates.py), and nothing has to look for one.
    may_hold_placeholder: bool = True

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
            message=short_text(message, MESSAGE_LIMIT),
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
    return Finding(
        severity=Severity.ERROR,
        rule=rule,
        message=short_text(message, MESSAGE_LIMIT),
        source=source,
        index=index,
        line=line,
    )


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
            refusal = _refusal(node) if node is not None else None
            if refusal is not None:
                findings.append(_decode_error(source, index, *refusal, line))
                index += 1
                continue
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
            elif "apiVersion" not in body and "kind" not in body:
                # Not a Kubernetes object at all (a GitHub workflow's `on:` is the boolean key True):
                # judging it as one would report nonsense, so say once that it was skipped.
                findings.append(
                    Finding(
                        severity=Severity.WARNING,
                        rule=NOT_A_MANIFEST,
                        source=source,
                        index=index,
                        line=line,
                        message="skipped: a YAML document with neither apiVersion nor kind is not a Kubernetes manifest",
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


class EmbeddedYAMLError(ValueError):
    """A YAML block inside a field (runtimeEnvYAML, serveConfigV2) does not decode, or is refused."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line  # 1-based, within the block


def load_embedded(text: str) -> Any:
    """The value of a YAML block held in a string field, under the same limits as a document.

    Raises EmbeddedYAMLError with the problem (and its line) when it does not
    decode, holds several documents, nests too deeply or is an alias bomb.
    """
    loader = _BaseLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        refusal = _refusal(node)
        if refusal is not None:
            raise EmbeddedYAMLError(refusal[1].replace("document", "block", 1))
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise EmbeddedYAMLError(exc.problem or exc.context or "invalid YAML", mark.line + 1 if mark else None) from None
    except (yaml.YAMLError, TypeError, ValueError, RecursionError) as exc:
        if isinstance(exc, EmbeddedYAMLError):
            raise
        raise EmbeddedYAMLError(f"invalid YAML: {short_text(str(exc))}") from None
    finally:
        loader.dispose()


def _refusal(node: yaml.Node) -> tuple[str, str] | None:
    """(rule, message) when the document must not be built: too large, too deep, or an alias bomb.

    One pass over the node graph, each node once however often it is aliased,
    so the measure costs what the text costs, not what the expansion would.
    """
    size = node.end_mark.index - node.start_mark.index
    if size > MAX_REQUEST_BYTES:
        return "request-too-large", (
            f"document is {size} characters; the API server refuses a request over {MAX_REQUEST_BYTES} bytes (3 MiB)"
        )
    expanded: dict[int, int] = {}  # node id -> nodes once every alias in it is expanded
    depth: dict[int, int] = {}
    distinct = 0
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        key = id(current)
        if key in expanded:
            continue
        children = _children(current)
        if not children_done:
            if key in depth:  # a node that contains itself (a recursive alias)
                return "yaml-excessive-aliasing", "document contains a recursive alias; kubectl refuses it"
            depth[key] = -1  # on the current path
            stack.append((current, True))
            stack.extend((child, False) for child in children if id(child) not in expanded)
            continue
        distinct += 1
        expanded[key] = 1 + sum(expanded[id(child)] for child in children)
        depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
        if depth[key] > MAX_DEPTH:
            return "document-too-deep", (
                f"document nests more than {MAX_DEPTH} levels; raygitops does not check a document this deep "
                "and no Kubernetes object needs it"
            )
    total = expanded[id(node)]
    aliased = total - distinct
    if aliased > _ALIAS_MIN and total > _DECODE_MIN and aliased / total > _allowed_alias_ratio(total):
        return "yaml-excessive-aliasing", (
            f"document contains excessive aliasing: {distinct} nodes expand to {total}; kubectl refuses it"
        )
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _allowed_alias_ratio(total: int) -> float:
    if total <= _RATIO_LOW:
        return 0.99
    if total >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (total - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)


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
