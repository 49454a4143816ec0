"""The `--engine kubeconform` backend: the same verdict, computed by kubeconform.

Three steps:
1. `write_standalone_schemas` turns every kind of the schema store into a
   kubeconform-layout JSON schema (`<kind>-<group prefix>-<version>.json`,
   lowercase, all `$ref`s inlined, `additionalProperties: false` wherever the
   API server drops or rejects unknown fields), so kubeconform checks against
   exactly the schemas our own engine uses.
2. `run_kubeconform` writes each document, already pruned and defaulted by the
   structural stage, to its own file and runs `kubeconform -strict -output json`
   on them; a missing-but-defaulted field therefore does not fail.
3. `parse_kubeconform_output` maps each invalid resource and each of its
   `validationErrors` back to the document it came from, as findings.

kubeconform's JSON output (pkg/output/json.go) is one object:
`{"resources": [{"filename", "kind", "name", "version", "status", "msg",
"validationErrors": [{"path", "msg"}]}], "summary": {...}}` with status one of
statusValid/statusInvalid/statusError/statusSkipped (older releases: VALID,
INVALID, ERROR, SKIPPED); without -verbose only failing resources are listed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..checks.registry import KUBECONFORM, Subject, declare
from ..findings import Finding, Severity, field_name, pointer_parts
from ..inputs.documents import Document
from ..tools import find_tool

declare(
    "kubeconform",
    """kubeconform found the resource invalid against its (strict, standalone) schema

    Why: with --engine kubeconform, kubeconform judges the schema; the finding carries its message.

    Fails:
        workerGroupSpecs:
        - {groupName: cpu, replicas: two}

    Instead:
        workerGroupSpecs:
        - {groupName: cpu, replicas: 2}
    """,
    category=KUBECONFORM,
    subject=Subject.DOCUMENT,
)
declare(
    "kubeconform-error",
    """kubeconform could not validate the resource (no schema, unreadable resource)

    Why: kubeconform could not check the resource at all (no schema for it, or it could not read it), so it was
    not validated by that engine.

    Fails:
        apiVersion: example.com/v1
        kind: Widget   # no standalone schema

    Instead:
        # use --engine builtin, or give kubeconform a schema
    """,
    category=KUBECONFORM,
    subject=Subject.DOCUMENT,
)

TIMEOUT_SECONDS = 600
_MANIFEST = "raygitops-schemas.json"  # what was written, and for which store
_INSTALL_HINT = (
    "run `make tools` (builds the pinned kubeconform into .venv/bin), put it on PATH, or use --engine builtin"
)


class KubeconformError(Exception):
    """kubeconform could not be run or its output could not be read (the CLI exits 2)."""


# ---------------------------------------------------------------- schemas


def schema_file_name(api_version: str, kind: str) -> str:
    """kubeconform's file name for a kind: `{{ .ResourceKind }}{{ .KindSuffix }}.json`.

    ResourceKind is the kind lowercased; KindSuffix is "-" + the first DNS label
    of the group + "-" + the version, lowercased ("ray.io/v1" -> "-ray-v1",
    core "v1" -> "-v1"), as in kubeconform's pkg/registry.
    """
    group, slash, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0].lower()}-{version.lower()}" if slash else f"-{version.lower()}"
    return f"{kind.lower()}{suffix}.json"


def location_template(schema_dir: Path) -> str:
    """The -schema-location value for a folder written by `write_standalone_schemas`."""
    return f"{Path(schema_dir).resolve()}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"


def write_standalone_schemas(store: Any, out_dir: Path) -> str:
    """Write one standalone strict JSON schema per kind of `store` into `out_dir`.

    Returns the -schema-location template for kubeconform. Two kinds whose
    file names collide in kubeconform's layout (same kind, version and first
    group label) cannot both be served: the first one written is kept and the
    collision is recorded in the folder's manifest.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    collisions: list[str] = []
    for resource in sorted(store.all_schemas(), key=lambda r: (r.group, r.version, r.kind)):
        api_version = f"{resource.group}/{resource.version}" if resource.group else resource.version
        name = schema_file_name(api_version, resource.kind)
        if name in written:
            collisions.append(f"{api_version} {resource.kind} (kept {written[name]})")
            continue
        standalone = to_standalone(resource.schema, _ref_resolver(store, resource.schema))
        (out_dir / name).write_text(json.dumps(standalone, separators=(",", ":")))
        written[name] = f"{api_version} {resource.kind}"
    manifest = {"store": store_fingerprint(store), "files": written, "collisions": collisions}
    (out_dir / _MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return location_template(out_dir)


def default_schema_dir(store: Any) -> Path:
    """A folder of standalone schemas for `store`, written once and reused while the store is unchanged."""
    base = getattr(store, "cache_dir", None)
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "raygitops"
    fingerprint = store_fingerprint(store)
    target = root / "kubeconform" / fingerprint[:16]
    manifest = target / _MANIFEST
    try:
        if json.loads(manifest.read_text()).get("store") == fingerprint:
            return target
    except (OSError, ValueError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="schemas-", dir=target.parent))
    write_standalone_schemas(store, staging)
    shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)  # atomic: a concurrent run never sees half a folder
    except OSError:  # another run got there first with the same content
        shutil.rmtree(staging, ignore_errors=True)
    return target


# Bump when `to_standalone` changes what it writes, so cached folders are rewritten.
CONVERTER_VERSION = 1


def store_fingerprint(store: Any) -> str:
    """Identifies what the schemas were written from: the store's kinds, its Kubernetes
    version, the lock file it was fetched with, and this converter's version."""
    from ..schema.store import LOCK_FILE, STORE_FORMAT  # an open store was built from this lock

    kinds = sorted(f"{r.group}/{r.version}/{r.kind}" for r in store.all_schemas())
    lock = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    version = str(getattr(store, "kubernetes_version", ""))
    header = f"{CONVERTER_VERSION} {STORE_FORMAT} {lock} {version}"
    return hashlib.sha256("\n".join([header, *kinds]).encode()).hexdigest()


def to_standalone(schema: dict[str, Any], resolve: Callable[[str], dict[str, Any] | None]) -> dict[str, Any]:
    """An OpenAPI v3 structural schema as a self-contained, strict JSON schema (draft 7).

    - `$ref`s are inlined (a recursive one becomes `{}`: anything);
    - `nullable: true` adds "null" to the type; `x-kubernetes-int-or-string`
      becomes integer-or-string;
    - an object with `properties` and no `additionalProperties` rejects unknown
      fields, unless `x-kubernetes-preserve-unknown-fields` keeps them;
    - an embedded resource (`x-kubernetes-embedded-resource`) also accepts
      apiVersion, kind and metadata;
    - descriptions and `x-kubernetes-*` extensions are dropped (kubeconform ignores them).
    """
    converted: dict[str, Any] = _convert(schema, resolve, frozenset())
    converted["$schema"] = "http://json-schema.org/draft-07/schema#"
    return converted


def _convert(node: Any, resolve: Callable[[str], dict[str, Any] | None], seen: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_convert(item, resolve, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref in seen:
            return {}
        target = resolve(ref)
        if target is None:
            return {}
        merged = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, resolve, seen | {ref})

    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("description", "$defs", "definitions", "x-kubernetes-validations") or key.startswith(
            "x-kubernetes-"
        ):
            continue
        if key in ("properties", "patternProperties", "dependencies"):
            out[key] = (
                {name: _convert(sub, resolve, seen) for name, sub in value.items()}
                if isinstance(value, dict)
                else value
            )
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = _convert(value, resolve, seen)
        elif key == "nullable":
            continue
        else:
            out[key] = copy.deepcopy(value)

    if out.get("format") == "quantity" and "type" not in out:  # the store's dialect for string-or-number
        out.pop("format")
        out["type"] = ["string", "number"]
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.pop("format", None)
        out["type"] = ["integer", "string"]
    if node.get("nullable") and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"] if "null" not in types else types
    if node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    is_object = out.get("type") == "object" or (isinstance(out.get("type"), list) and "object" in out["type"])
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and (is_object or "type" not in out)
    ):
        out["additionalProperties"] = False
    return out


def _ref_resolver(store: Any, schema: dict[str, Any]) -> Callable[[str], dict[str, Any] | None]:
    """Resolve `#/$defs/X`, `#/definitions/X` or any ref the store itself can resolve."""
    store_resolve = getattr(store, "resolve_ref", None)
    local = {**schema.get("definitions", {}), **schema.get("$defs", {})} if isinstance(schema, dict) else {}

    def resolve(ref: str) -> dict[str, Any] | None:
        if callable(store_resolve):
            found: dict[str, Any] | None = store_resolve(ref)
            if found is not None:
                return found
        name = ref.rsplit("/", 1)[-1]
        return local.get(name)

    return resolve


# ---------------------------------------------------------------- running


def run_kubeconform(
    documents: list[Document],
    schema_dir: Path,
    binary: str = "kubeconform",
    jobs: int = 2,
) -> list[Finding]:
    """Run kubeconform on `documents` (their current, defaulted bodies) and return its findings."""
    executable = find_tool(binary)
    if executable is None:
        raise KubeconformError(f"--engine kubeconform: '{binary}' was not found; {_INSTALL_HINT}")
    if not documents:
        return []
    with tempfile.TemporaryDirectory(prefix="raygitops-kubeconform-") as work:
        for position, document in enumerate(documents):
            # JSON is YAML, and keeps every scalar's type exactly as we hold it.
            (Path(work) / _document_file_name(position)).write_text(json.dumps(document.body, default=str))
        command = [
            # Missing schemas are skipped: the identity stage already reported those kinds.
            executable,
            "-strict",
            "-ignore-missing-schemas",
            "-summary",
            "-output",
            "json",
            "-n",
            str(max(1, jobs)),
            "-schema-location",
            location_template(Path(schema_dir)),
            work,
        ]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise KubeconformError(f"kubeconform did not finish within {TIMEOUT_SECONDS} s") from exc
        except OSError as exc:
            raise KubeconformError(f"could not run {executable}: {exc}") from exc
    if completed.returncode not in (0, 1) or not completed.stdout.strip():
        detail = (completed.stderr or completed.stdout).strip()[:2000]
        raise KubeconformError(f"kubeconform failed (exit {completed.returncode}): {detail or 'no output'}")
    return parse_kubeconform_output(completed.stdout, documents)


def _document_file_name(position: int) -> str:
    return f"doc-{position:06d}.yaml"


_POSITION = re.compile(r"doc-(\d+)\.ya?ml$")
_STATUS = {
    "statusinvalid": "invalid",
    "invalid": "invalid",
    "statuserror": "error",
    "error": "error",
    "statusvalid": "valid",
    "valid": "valid",
    "statusskipped": "skipped",
    "skipped": "skipped",
    "statusempty": "skipped",
}
# The error text when there are no validationErrors to read, per jsonschema library:
# v5 (kubeconform 0.6): "jsonschema: '/spec/ports/0/port' does not validate with <url>: <message>"
# v6 (kubeconform 0.7): "jsonschema validation failed with '<url>'\n- at '/spec/ports/0/port': <message>"
_MESSAGE_PATTERNS = (
    re.compile(r"jsonschema: '(?P<path>[^']*)' does not validate with \S+: (?P<msg>[^\n]*)"),
    re.compile(r"- at '(?P<path>[^']*)': (?P<msg>[^\n]*)"),
)


def parse_kubeconform_output(stdout: str, documents: list[Document]) -> list[Finding]:
    """Findings from kubeconform's `-output json`, each attached to its document.

    `documents[i]` is the one written as file `doc-<i>.yaml`; a result whose
    file name is not ours (kubeconform run on other files) is matched by
    apiVersion, kind and name.
    """
    try:
        data = json.loads(stdout)
    except ValueError as exc:
        raise KubeconformError(f"kubeconform output is not JSON ({exc}): {stdout[:200]!r}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("resources", []), list):
        raise KubeconformError("kubeconform output has no 'resources' list")
    findings: list[Finding] = []
    for result in data.get("resources") or []:
        if not isinstance(result, dict):
            continue
        status = _STATUS.get(str(result.get("status", "")).lower(), "error")
        if status in ("valid", "skipped"):
            continue
        document = _document_for(result, documents)
        findings.extend(_result_findings(result, status, document))
    return findings


def _result_findings(result: dict[str, Any], status: str, document: Document | None) -> Iterable[Finding]:
    msg = str(result.get("msg") or "").strip()
    if status == "error":
        yield _finding(document, result, "kubeconform-error", "", f"kubeconform could not validate the resource: {msg}")
        return
    errors = []
    for error in result.get("validationErrors") or []:
        if isinstance(error, dict):
            path = str(error.get("path", error.get("Path", "")) or "")
            text = str(error.get("msg", error.get("Message", "")) or "").strip()
            if text:  # jsonschema v5 may add an empty wrapper entry; it says nothing
                errors.append((path, text))
    if not errors:
        errors = [(m["path"], m["msg"]) for pattern in _MESSAGE_PATTERNS for m in pattern.finditer(msg)][:50]
    if not errors:
        errors = [("", msg or "invalid")]
    for path, text in errors:
        yield _finding(document, result, "kubeconform", path, _message(path, text))


def _message(pointer: str, text: str) -> str:
    field = field_name(pointer_parts(pointer))
    return f"{field}: {text}" if field else text


def _document_for(result: dict[str, Any], documents: list[Document]) -> Document | None:
    match = _POSITION.search(str(result.get("filename", "")))
    if match and int(match.group(1)) < len(documents):
        return documents[int(match.group(1))]
    for document in documents:
        if (document.api_version, document.kind, document.name) == (
            result.get("version"),
            result.get("kind"),
            result.get("name"),
        ):
            return document
    return None


def _finding(document: Document | None, result: dict[str, Any], rule: str, path: str, message: str) -> Finding:
    pointer = path if path.startswith("/") or not path else "/" + path
    if document is not None:
        return document.finding(rule, Severity.ERROR, pointer, message)
    return Finding(
        severity=Severity.ERROR,
        rule=rule,
        message=message,
        source=str(result.get("filename", "")),
        api_version=str(result.get("version", "")),
        kind=str(result.get("kind", "")),
        name=str(result.get("name", "")),
        path=pointer,
    )
