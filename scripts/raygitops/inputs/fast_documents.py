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

A long stream is cut into shards of documents, each decoded and checked in
its own forked process (../parallel.py), as kubeconform's `-n` workers do.

Documents are split at `---` lines, which YAML never lets content start
with, so a document's line is its first content line, as PyYAML reports it.
The screen is cheap: byte counts per document, and one regular expression per
distinct whitespace-separated token of the stream, not one per character.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml_rs

from ..findings import Finding
from ..parallel import map_shards
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
_CONTENT_LINE = re.compile(rb"^[ ]*[^ \n#]", re.MULTILINE)


# What the caller runs on each document as soon as it is decoded (the engine's per-document checks).
DocumentCheck = Callable[[Document], list[Finding]]


@dataclass
class DecodedStream:
    """What decoding a stream gives: `documents.load_stream`'s documents and findings, and, when the
    fast path split the stream, where each document is in it and the findings of the caller's check."""

    documents: list[Document]
    findings: list[Finding]
    spans: DocumentSpans | None = None
    # Document index -> the findings of `check`, for the documents with any; None: none was checked.
    checked: dict[int, list[Finding]] | None = None


def load_stream_fast(data: str | bytes, source: str) -> tuple[list[Document], list[Finding]]:
    """`documents.load_stream`'s result: fast where the text allows it, the reference decoder elsewhere."""
    decoded = load_stream_with_spans(data, source)
    return decoded.documents, decoded.findings


def load_stream_with_spans(
    data: str | bytes | bytearray,
    source: str,
    jobs: int = 1,
    check: DocumentCheck | None = None,
    reread: Callable[[], bytes] | None = None,
) -> DecodedStream:
    """The stream's documents and findings (`load_stream_fast`'s), with where each document is and the
    findings of `check` when the fast path decoded it.

    The fast path decodes the documents of a long stream on up to `jobs` cores (see ../parallel.py), and
    runs `check` on each in the process that decoded it: a document checked in a forked child comes back
    changed as the check left it (defaulted), with its findings. Documents the reference decoder read are
    not checked here.

    A `bytearray` given with `reread` is given away: it is emptied as soon as it is no longer needed,
    before the children's documents arrive, so that a long stream's text is not held next to all of
    its documents (21 MiB at 20,000 resources); should the reference decoder have to read the stream
    after that, `reread` reads it again.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    if isinstance(raw, bytearray):
        del raw[:bom]  # in place: `raw` stays the caller's buffer, to be emptied below
    else:
        raw = raw[bom:]
    if raw.startswith(b"%") or b"\n%" in raw:  # directives change how the next document reads
        return DecodedStream(*load_stream(bytes(data) if isinstance(data, bytearray) else data, source))
    chunks = split_documents(raw)
    release = raw.clear if isinstance(raw, bytearray) and reread is not None else None
    decoded = None if chunks is None else _fast_documents(raw, chunks, source, jobs, check, release)
    if chunks is None or decoded is None:
        text: str | bytes = bytes(data) if isinstance(data, bytearray) else data
        if not text and reread is not None:  # emptied by `release`
            text = reread()
        return DecodedStream(*load_stream(text, source))
    documents, checked = decoded
    return DecodedStream(documents, [], DocumentSpans(chunks, bom), checked)


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


def _fast_documents(
    raw: bytes | bytearray,
    chunks: list[tuple[int, int, int]],
    source: str,
    jobs: int,
    check: DocumentCheck | None,
    release: Callable[[], None] | None,
) -> tuple[list[Document], dict[int, list[Finding]] | None] | None:
    """The stream's documents and their checks' findings, or None where only the reference decoder can say."""

    def decode(shard: Sequence[tuple[int, tuple[int, int, int]]]) -> list[_Decoded] | None:
        return _decode_chunks(raw, shard, source, check, release)

    shards = map_shards(list(enumerate(chunks)), decode, jobs=jobs)
    documents: list[Document] = []
    checked: dict[int, list[Finding]] | None = None if check is None else {}
    for decoded in shards:
        if decoded is None:
            return None
        for index, body, line, marked, findings in decoded:
            documents.append(Document(source, index, body, line, may_hold_placeholder=marked))
            if findings and checked is not None:
                checked[index] = findings
    return documents, checked


# (index, body, line, whether its text has `$` or `{{`, findings of the check) of one decoded document
_Decoded = tuple[int, dict[str, Any], int, bool, list[Finding] | None]


def _decode_chunks(
    raw: bytes | bytearray,
    chunks: Sequence[tuple[int, tuple[int, int, int]]],
    source: str,
    check: DocumentCheck | None,
    release: Callable[[], None] | None,
) -> list[_Decoded] | None:
    """Each document of `chunks`, decoded and checked, or None where only the reference decoder can say.

    `release` runs between the two and empties `raw`, which the checks do not need: in a forked child,
    its own copy; here, the stream's text, whose other shards are in the children's copies.
    """
    screen = _TokenScreen()
    decoded: list[tuple[int, dict[str, Any], int, bool]] = []
    # A view, not slices of `raw`, so that a chunk is copied once; released on return, so `raw` can be emptied.
    with memoryview(raw) as view:
        for index, (start, end, first_line) in chunks:
            chunk = bytes(view[start:end])
            content = _CONTENT_LINE.search(chunk)
            if content is None:  # an empty document: kubectl skips it
                continue
            body: object
            try:
                if _needs_reference(chunk) or screen.any_risky(chunk):
                    reference, findings = load_stream(chunk, source)
                    if findings or len(reference) != 1:
                        return None
                    body, line, marked = reference[0].body, first_line + reference[0].line - 1, True
                else:
                    body = _shared_strings(yaml_rs.loads(chunk.decode("utf-8"), parse_datetime=False))
                    line = first_line + chunk.count(b"\n", 0, content.start())
                    # Escapes and aliases went to the reference decoder, so a `$` or `{{` of the
                    # decoded document is in its text (folded lines join with a space).
                    marked = b"$" in chunk or b"{{" in chunk
            except Exception:  # any complaint: the reference decoder words the finding
                return None
            if not isinstance(body, dict) or not all(isinstance(key, str) for key in body):
                return None
            if "apiVersion" not in body and "kind" not in body:  # not a manifest: the reference says so
                return None
            decoded.append((index, body, line, marked))
    if release is not None:
        release()
    if check is None:
        return [(index, body, line, marked, None) for index, body, line, marked in decoded]
    # Checked only once the whole shard decoded: a stream the reference decoder must read is not checked here.
    checked: list[_Decoded] = []
    for index, body, line, marked in decoded:
        document = Document(source, index, body, line, may_hold_placeholder=marked)
        checked.append((index, document.body, line, marked, check(document)))
    return checked


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


def split_documents(raw: bytes | bytearray) -> list[tuple[int, int, int]] | None:
    """(start, end, 1-based line of start) per document; None for what only PyYAML should split.

    A stream's text before its first `---` is a document only if it has content.
    """
    if _line_starts(raw, b"..."):
        return None  # a document end marker: leave the stream to PyYAML
    chunks: list[tuple[int, int, int]] = []
    start, line = 0, 1
    for marker in _line_starts(raw, b"---"):
        end_of_line = raw.find(b"\n", marker + 3)
        end_of_line = len(raw) if end_of_line < 0 else end_of_line
        if raw[marker + 3 : end_of_line].strip():
            return None  # content after `---`: leave it to PyYAML
        if start or _CONTENT_LINE.search(raw, 0, marker):
            chunks.append((start, marker, line))
        line += raw.count(b"\n", start, end_of_line) + 1
        start = end_of_line + 1
    if start < len(raw) or not chunks:
        chunks.append((start, len(raw), line))
    return chunks


def _line_starts(raw: bytes | bytearray, marker: bytes) -> list[int]:
    """Where `marker` begins a line and a space, a line break or the end follows it (YAML's rule for
    `---` and `...`); found with `find`, which skips through a long stream far sooner than a regular
    expression anchored at every line."""
    found = [0] if raw.startswith(marker) and raw[3:4] in _AFTER_MARKER else []
    at = raw.find(b"\n" + marker)
    while at >= 0:
        if raw[at + 4 : at + 5] in _AFTER_MARKER:
            found.append(at + 1)
        at = raw.find(b"\n" + marker, at + 1)
    return found


_AFTER_MARKER = (b"", b" ", b"\n")
