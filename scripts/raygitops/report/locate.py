"""Locate: point each finding at the line a person edits, the field's own line in the file they wrote.

A finding knows its document and a JSON pointer. Only for documents that have
findings, the file is composed again with PyYAML (nodes keep their line) and the
pointer walked; where the field is not in that file (a patch added it), the
nearest enclosing field that is gives the line. A finding on a rendered overlay
moves to the file under base/, components/ or the overlay its resource came
from (see origins.py), and keeps the overlay it was rendered in as `target`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import yaml

from ..findings import Finding, pointer_parts
from ..inputs.origins import Origin
from ..inputs.sources import Source

_GENERATOR_KEYS = {"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}


class _File:
    """One YAML file's documents as nodes, composed once and only when a finding needs them."""

    def __init__(self, text: str) -> None:
        self.nodes: list[yaml.Node | None] = []
        loader = yaml.SafeLoader(text)
        try:
            while loader.check_node():
                self.nodes.append(loader.get_node())
        except yaml.YAMLError:
            pass  # the decoder already reported it; lines up to the error still help
        finally:
            loader.dispose()

    def document(self, index: int) -> yaml.Node | None:
        return self.nodes[index] if 0 <= index < len(self.nodes) else None

    def find(self, kind: str, name: str) -> int | None:
        """The index of the document with this kind and name (kustomize may have prefixed the name)."""
        same_kind = [i for i, node in enumerate(self.nodes) if _scalar(node, "kind") == kind]
        for index in same_kind:
            if _scalar(_child(self.nodes[index], "metadata"), "name") == name:
                return index
        for index in same_kind:
            own = _scalar(_child(self.nodes[index], "metadata"), "name")
            if own and own in name:
                return index
        return same_kind[0] if same_kind else None


def field_line(document: yaml.Node | None, pointer: str) -> int | None:
    """The 1-based line of the field at `pointer` in `document`, or of its nearest ancestor present."""
    if document is None:
        return None
    node, line = document, document.start_mark.line + 1
    for part in pointer_parts(pointer):
        if isinstance(node, yaml.MappingNode):
            match = next(
                ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(part)), None
            )
            if match is None:
                break
            node, line = match[1], match[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
                return v
    return None


def _scalar(node: yaml.Node | None, key: str) -> str | None:
    child = _child(node, key)
    return child.value if isinstance(child, yaml.ScalarNode) else None


class Locator:
    def __init__(self, sources: list[Source]) -> None:
        self.sources = {s.label: s for s in sources}
        self.files: dict[str, _File | None] = {}

    def _file(self, path: str) -> _File | None:
        if path not in self.files:
            try:
                self.files[path] = _File(Path(path).read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError):
                self.files[path] = None
        return self.files[path]

    def locate(self, finding: Finding) -> Finding:
        source = self.sources.get(finding.source)
        if source is None or finding.index is None:
            return finding
        origin = source.origins.get(finding.index)
        if origin is not None:
            return self._in_origin(finding, origin)
        if source.rendered:
            return finding
        file = self._file(finding.source)
        line = field_line(file.document(finding.index), finding.path) if file else None
        return replace(finding, line=line) if line is not None else finding

    def _in_origin(self, finding: Finding, origin: Origin) -> Finding:
        moved = replace(finding, source=origin.path, target=finding.source, index=None, line=None)
        file = self._file(origin.path)
        if file is None:
            return moved
        if origin.generator:  # the generator's entry in the kustomization that configures it
            root = file.document(0)
            key = _GENERATOR_KEYS.get(origin.generator, "")
            return replace(moved, line=field_line(root, f"/{key}") if key else None)
        index = file.find(finding.kind, finding.name)
        if index is None:
            return moved
        return replace(moved, index=index, line=field_line(file.document(index), finding.path))


def locate_findings(findings: list[Finding], sources: list[Source]) -> list[Finding]:
    locator = Locator(sources)
    return [locator.locate(f) for f in findings]
