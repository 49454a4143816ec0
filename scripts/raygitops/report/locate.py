"""Locate: point each finding at the line a person edits, the field's own line in the file they wrote.

A finding knows its document and a JSON pointer. Only for documents that have
findings, the document is parsed again with PyYAML (its events keep their line)
up to the field the pointer names; where the field is not in that file (a patch
added it), the nearest enclosing field that is gives the line. A finding on a
rendered overlay moves to the file under base/, components/ or the overlay its
resource came from (see origins.py), and keeps the overlay it was rendered in
as `target`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import yaml

from ..findings import Finding, pointer_parts
from ..inputs.fast_documents import split_documents
from ..inputs.origins import Origin
from ..inputs.sources import Source
from ..parallel import MIN_SHARD, map_shards

# Locating a finding costs less than checking a document: a child pays off from twice as many.
_MIN_SHARD = 2 * MIN_SHARD
_GENERATOR_KEYS = {"ConfigMapGenerator": "configMapGenerator", "SecretGenerator": "secretGenerator"}


class _File:
    """One YAML file: its text, split into documents, and its documents as nodes only if `find` needs them."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte order mark is not part of the first line
        self.chunks = split_documents(self.raw)  # None: only PyYAML can split this stream
        self._nodes: list[yaml.Node | None] | None = None

    def line(self, index: int, pointer: str) -> int | None:
        """The 1-based line in this file of the field at `pointer` in document `index` (see `field_line`)."""
        if self.chunks is None or not 0 <= index < len(self.chunks):
            return field_line(self.raw, index, pointer)
        start, end, first_line = self.chunks[index]
        line = field_line(self.raw[start:end], 0, pointer)
        return None if line is None else line + first_line - 1

    @property
    def nodes(self) -> list[yaml.Node | None]:
        """Every document as nodes: for `find`, on the small files under base/ and components/."""
        if self._nodes is None:
            self._nodes = []
            loader = yaml.CSafeLoader(self.raw)
            try:
                while loader.check_node():
                    self._nodes.append(loader.get_node())
            except yaml.YAMLError:
                pass  # the decoder already reported it; documents up to the error still help
            finally:
                loader.dispose()
        return self._nodes

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


def field_line(raw: bytes, index: int, pointer: str) -> int | None:
    """The 1-based line of the field at `pointer` in document `index` of `raw`, or of its nearest ancestor present.

    Read from the parser's events, stopping at the field: composing every node of
    a large document (a RayService) to find one line took longer than validating it.
    """
    events = _Events(raw)
    try:
        if not isinstance(events.next(), yaml.StreamStartEvent):
            return None
        for _ in range(index):  # the documents before it
            if not isinstance(events.next(), yaml.DocumentStartEvent):
                return None
            events.skip(events.next())
            events.next()  # its DocumentEndEvent
        if not isinstance(events.next(), yaml.DocumentStartEvent):
            return None
        return events.descend(events.next(), pointer_parts(pointer))
    except yaml.YAMLError:
        return None  # the decoder already reported it
    finally:
        events.parser.dispose()


class _Events:
    """PyYAML's C parser's events of one stream, read forward only."""

    def __init__(self, raw: bytes) -> None:
        self.parser = yaml.CBaseLoader(raw)

    def next(self) -> yaml.Event:
        event = self.parser.get_event()
        if event is None:
            raise yaml.YAMLError("the stream ended early")
        return event

    def descend(self, event: yaml.Event, parts: list[str | int]) -> int | None:
        """From a node's first event, follow `parts` down; the line of the last one found."""
        line = _line(event)
        for part in parts:
            found: tuple[yaml.Event, int | None] | None = None
            if isinstance(event, yaml.MappingStartEvent):
                found = self.value_of(str(part))
            elif isinstance(event, yaml.SequenceStartEvent) and isinstance(part, int):
                found = self.item(part)
            if found is None:
                break  # not in this file (a patch added it), or an alias: the nearest enclosing field
            event, line = found
        return line

    def value_of(self, key: str) -> tuple[yaml.Event, int | None] | None:
        """In a mapping whose start was read: the first event of `key`'s value, and the key's line."""
        while not isinstance(event := self.next(), yaml.MappingEndEvent):
            if isinstance(event, yaml.ScalarEvent) and event.value == key:
                return self.next(), _line(event)
            self.skip(event)  # the key
            self.skip(self.next())  # its value
        return None

    def item(self, position: int) -> tuple[yaml.Event, int | None] | None:
        """In a sequence whose start was read: the first event of item `position`, and its line."""
        index = 0
        while not isinstance(event := self.next(), yaml.SequenceEndEvent):
            if index == position:
                return event, _line(event)
            self.skip(event)
            index += 1
        return None

    def skip(self, event: yaml.Event) -> None:
        """Read past the node that starts with `event`."""
        depth = 1 if isinstance(event, yaml.CollectionStartEvent) else 0
        while depth:
            event = self.next()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1


def _line(event: yaml.Event) -> int | None:
    return event.start_mark.line + 1 if event.start_mark is not None else None


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
                self.files[path] = _File(Path(path).read_bytes())
            except OSError:
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
        if not finding.path and finding.line is not None:
            return finding  # about the text, not a field (a duplicate key): the decoder's own line
        if source.spans is not None and 0 <= finding.index < len(source.spans):
            line = _line_in_span(finding.source, source.spans[finding.index], finding.path)
        else:
            file = self._file(finding.source)
            line = file.line(finding.index, finding.path) if file else None
        return replace(finding, line=line) if line is not None else finding

    def _in_origin(self, finding: Finding, origin: Origin) -> Finding:
        moved = replace(finding, source=origin.path, target=finding.source, index=None, line=None)
        file = self._file(origin.path)
        if file is None:
            return moved
        if origin.generator:  # the generator's entry in the kustomization that configures it
            key = _GENERATOR_KEYS.get(origin.generator, "")
            return replace(moved, line=file.line(0, f"/{key}") if key else None)
        index = file.find(finding.kind, finding.name)
        if index is None:
            return moved
        return replace(moved, index=index, line=file.line(index, finding.path))


def _line_in_span(path: str, span: tuple[int, int, int], pointer: str) -> int | None:
    """`_File.line` for one document whose place in the file the decoder kept: only its bytes are read."""
    start, end, first_line = span
    try:
        with open(path, "rb") as stream:
            stream.seek(start)
            chunk = stream.read(end - start)
    except OSError:
        return None
    line = field_line(chunk, 0, pointer)
    return None if line is None else line + first_line - 1


def locate_findings(findings: list[Finding], sources: list[Source], jobs: int = 1) -> list[Finding]:
    """Each finding with its line; on up to `jobs` cores when there are many (see ../parallel.py)."""
    locator = Locator(sources)

    def locate(shard: Sequence[Finding]) -> list[Finding]:
        return [locator.locate(f) for f in shard]

    return [f for shard in map_shards(findings, locate, jobs=jobs, min_shard=_MIN_SHARD) for f in shard]
