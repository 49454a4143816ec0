"""Fast decoding: the same documents and findings as `documents.load_stream`, about ten times sooner.

PyYAML's C loader still builds every node in Python; yaml-rs (a Rust parser)
builds the objects directly. yaml-rs follows YAML 1.2 and PyYAML (like the
go-yaml v2 under sigs.k8s.io/yaml that Kubernetes decodes with) follows
YAML 1.1, so this path takes a document only when nothing in its text could
resolve differently between the two, and hands everything else to the
reference decoder:

- a document whose text has any token the two YAML versions read differently
  (yes/no/on/off, leading zeros, `_` or `:` in numbers, exponents, `.5`, `<<`,
  `=`), or anything this module does not reason about (anchors, aliases and
  tags, so alias limits apply there; directives; tabs; backslash escapes;
  complex keys; unusual line breaks) is decoded by `documents.load_stream`;
- a stream where anything is wrong (a syntax error, a duplicate key, a
  document that is not a mapping, not UTF-8) is decoded again, whole, by
  `documents.load_stream`, so every finding is exactly the reference one.

Documents are split at `---` lines, which YAML never lets content start
with, so a document's line is its first content line, as PyYAML reports it.
The screen is cheap: byte counts per document, and one regular expression per
distinct whitespace-separated token of the stream, not one per character.
"""

from __future__ import annotations

import re
import sys
from array import array

import yaml_rs

from ..findings import Finding
from .documents import Document, load_stream

# Plain scalars that YAML 1.1 (PyYAML, go-yaml v2) and YAML 1.2 (yaml-rs) resolve differently:
# booleans only 1.1 knows, octal and 0o numbers, digit groups, sexagesimal numbers, floats written
# only one way; merge and value keys; and what this module leaves to PyYAML (anchors, aliases and
# tags, so the reference decoder's limits on aliases apply; complex keys; reserved indicators).
_YAML11_ONLY_TOKENS = frozenset(b"yes Yes YES no No NO on On ON off Off OFF = ? <<".split())
_RISKY_TOKEN = re.compile(
    rb"[-+]?(?:0[0-9_oO]|\.[0-9])|[&*!@`%]|.*(?:[0-9]_|_[0-9]|[0-9]:[0-9]|[0-9.][eE][-+0-9]|\.(?:inf|nan)\b|<<|[0-9]{19})",
    re.IGNORECASE,
)
# Flow indicators separate tokens as whitespace does; every other byte keeps its place.
_TOKEN_SEPARATORS = bytes.maketrans(b",[]{}", b"     ")
_CONTROL_OR_RARE_ESCAPE = re.compile(rb'[\x00-\x08\x0b-\x1f\x7f]|\\(?![n"\\])')
# Deeply nested documents go to the reference decoder, whose nesting limits then apply to them
# (yaml-rs stops at 256 levels of flow nesting and has no limit of its own on block nesting).
_MAX_FLOW_BRACKETS = 32
_DEEP_INDENT = b"\n" + b" " * 96
_MARKER = re.compile(rb"^(?:---|\.\.\.)(?=[ \n]|$)", re.MULTILINE)
_CONTENT_LINE = re.compile(rb"^[ ]*[^ \n#]", re.MULTILINE)


def load_stream_fast(data: str | bytes, source: str) -> tuple[list[Document], list[Finding]]:
    """`documents.load_stream`'s result: fast where the text allows it, the reference decoder elsewhere."""
    documents, findings, _ = load_stream_with_spans(data, source)
    return documents, findings


def load_stream_with_spans(
    data: str | bytes, source: str
) -> tuple[list[Document], list[Finding], DocumentSpans | None]:
    """`load_stream_fast`'s result, and where each document is in `data` when the fast path split it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    raw = raw[bom:]
    if raw.startswith(b"%") or b"\n%" in raw:  # directives change how the next document reads
        return (*load_stream(data, source), None)
    chunks = split_documents(raw)
    documents = None if chunks is None else _fast_documents(raw, chunks, source)
    if chunks is None or documents is None:
        return (*load_stream(data, source), None)
    return documents, [], DocumentSpans(chunks, bom)


class DocumentSpans:
    """Where each document of a stream is: its bytes and first line, so that finding a field's line
    later reads only the documents with findings, not the whole file again (22 MiB at 20,000
    resources, on top of everything else). Packed in one array of integers, not a tuple each."""

    def __init__(self, chunks: list[tuple[int, int, int]], bom: int) -> None:
        self._values = array("q", (v for start, end, line in chunks for v in (start + bom, end + bom, line)))

    def __len__(self) -> int:
        return len(self._values) // 3

    def __getitem__(self, index: int) -> tuple[int, int, int]:
        """(start, end, 1-based first line) of document `index`; start and end count from the stream's first byte."""
        start, end, line = self._values[3 * index : 3 * index + 3]
        return start, end, line


def _fast_documents(raw: bytes, chunks: list[tuple[int, int, int]], source: str) -> list[Document] | None:
    """The stream's documents, or None where only the reference decoder can say what it holds."""
    screen = _TokenScreen()
    documents: list[Document] = []
    for index, (start, end, first_line) in enumerate(chunks):
        chunk = raw[start:end]
        content = _CONTENT_LINE.search(chunk)
        if content is None:  # an empty document: kubectl skips it
            continue
        body: object
        try:
            if _needs_reference(chunk) or screen.any_risky(chunk):
                decoded, findings = load_stream(chunk, source)
                if findings or len(decoded) != 1:
                    return None
                body, line = decoded[0].body, first_line + decoded[0].line - 1
            else:
                body = _shared_strings(yaml_rs.loads(chunk.decode("utf-8"), parse_datetime=False))
                line = first_line + chunk.count(b"\n", 0, content.start())
        except Exception:  # any complaint: the reference decoder words the finding
            return None
        if not isinstance(body, dict) or not all(isinstance(key, str) for key in body):
            return None
        if "apiVersion" not in body and "kind" not in body:  # not a manifest: the reference says so
            return None
        documents.append(Document(source=source, index=index, body=body, line=line))
    return documents


# Strings up to this length are shared: keys and short values (images, quantities, port names) repeat
# across a bundle; long text (scripts, Serve configs) rarely does.
_SHARED_LENGTH = 32


def _shared_strings(value: object) -> object:
    """`value` rebuilt with one shared copy (sys.intern) of each mapping key and short string.

    yaml-rs builds a new string object for every scalar it reads, and a bundle repeats a
    few hundred keys and values (name, image, resources, "2Gi") over and over: sharing
    them nearly halves the memory the documents of a 20,000-resource bundle hold
    (147 -> 80 MiB) for about a quarter of a second more decoding. The fast path only takes documents
    nested a few dozen levels deep (see `_needs_reference`), so the recursion is bounded.
    """
    if type(value) is dict:  # exact types: yaml-rs builds plain dicts, lists and strings
        return {sys.intern(key) if type(key) is str else key: _shared_strings(item) for key, item in value.items()}
    if type(value) is list:
        return [_shared_strings(item) for item in value]
    if type(value) is str and len(value) <= _SHARED_LENGTH:
        return sys.intern(value)
    return value


class _TokenScreen:
    """Whether a document has a token YAML 1.1 and 1.2 may read differently.

    Each distinct token of the stream is judged once; a document's tokens are
    compared with the verdicts so far as sets, so the stream is never held as tokens.
    """

    def __init__(self) -> None:
        self.safe: set[bytes] = set()
        self.risky: set[bytes] = set()

    def any_risky(self, chunk: bytes) -> bool:
        tokens = set(chunk.translate(_TOKEN_SEPARATORS).split())
        if not tokens.isdisjoint(self.risky):
            return True
        found = False
        for token in tokens - self.safe:
            if token.rstrip(b":") in _YAML11_ONLY_TOKENS or _RISKY_TOKEN.match(token):
                self.risky.add(token)
                found = True
            else:
                self.safe.add(token)
        return found


def _needs_reference(chunk: bytes) -> bool:
    return (
        not chunk.isascii()
        or b"\t" in chunk
        or b"\r" in chunk
        or chunk.count(b"[") + chunk.count(b"{") >= _MAX_FLOW_BRACKETS
        or _DEEP_INDENT in chunk
        or _CONTROL_OR_RARE_ESCAPE.search(chunk) is not None
    )


def split_documents(raw: bytes) -> list[tuple[int, int, int]] | None:
    """(start, end, 1-based line of start) per document; None for what only PyYAML should split.

    A stream's text before its first `---` is a document only if it has content.
    """
    chunks: list[tuple[int, int, int]] = []
    start, line = 0, 1
    for marker in _MARKER.finditer(raw):
        end_of_line = raw.find(b"\n", marker.end())
        end_of_line = len(raw) if end_of_line < 0 else end_of_line
        if marker.group() != b"---" or raw[marker.end() : end_of_line].strip():
            return None  # `...`, or content after `---`: leave it to PyYAML
        if start or _CONTENT_LINE.search(raw, 0, marker.start()):
            chunks.append((start, marker.start(), line))
        line += raw.count(b"\n", start, end_of_line) + 1
        start = end_of_line + 1
    if start < len(raw) or not chunks:
        chunks.append((start, len(raw), line))
    return chunks
