"""Schema store: the pinned schemas every validation stage looks kinds up in.

Two sources, one dialect:

- CRD kinds come from the upstream CRD files pinned in `schemas.lock.yaml`
  (URL + sha256). `fetch` downloads them (or copies them from a mirror
  folder), refuses any file whose checksum differs, and converts each served
  version's `openAPIV3Schema` once into the cache.
- Built-in kinds come from the installed `kubernetes-validate` package for a
  selectable Kubernetes version. Its JSON Schema definitions are converted
  into the same structural-schema dialect the CRDs use, so one walker
  validates both: `$ref`s resolved, `type: [X, "null"]` -> `nullable`,
  `oneOf [string, integer]` -> `x-kubernetes-int-or-string`,
  `oneOf [string, number]` -> `format: quantity`, and objects that allow any
  content -> `x-kubernetes-preserve-unknown-fields`.

The cache holds one JSON file per kind and version, written once; a run reads
the small manifest and parses only the kinds it meets. The cache is data that
cannot execute on load (never pickle): it lives in the user's cache folder,
outside any checkout, in a folder named after the lock's checksum, and each
file is checked against the sha256 the manifest recorded for it. A cache that
does not verify is rebuilt from the pinned files (mirror or verified
downloads), never trusted. Descriptions are dropped: validation does not need
them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from ..inputs.documents import SAFE_LOADER

LOCK_FILE = Path(__file__).with_name("schemas.lock.yaml")
DEFAULT_KUBERNETES_VERSION = "1.33"
STORE_FORMAT = 3  # bump when the cache layout or the converted dialect changes
FETCH_HINT = "run `raygitops schemas fetch`"
DOWNLOAD_TIMEOUT_S = 60

_MANIFEST = "manifest.json"
_CRD_DIR = "crd"
_BUILTIN_DIR = "builtin"
_DOWNLOADS_DIR = "downloads"

# Keys that carry documentation only; dropped at conversion.
_DOC_KEYS = frozenset({"description", "example", "externalDocs", "title"})


class SchemaFetchError(Exception):
    """`fetch` could not get or verify a pinned file; nothing was written for it."""


class SchemaStoreError(Exception):
    """The store is missing, stale, or cannot serve the requested Kubernetes version."""


# --------------------------------------------------------------------------- lock file


@dataclass(frozen=True)
class LockEntry:
    name: str
    url: str
    sha256: str
    path: str  # where the file lies inside a mirror folder, e.g. kuberay-v1.7.0/ray.io_rayclusters.yaml


@dataclass(frozen=True)
class Lock:
    kubernetes_version: str
    crds: tuple[LockEntry, ...]
    sha256: str  # of the lock file itself: a store built from another lock is stale


def read_lock(path: Path = LOCK_FILE) -> Lock:
    raw = path.read_bytes()
    data = yaml.safe_load(raw)
    crds = tuple(
        LockEntry(name=e["name"], url=e["url"], sha256=e["sha256"].lower(), path=e["path"]) for e in data["crds"]
    )
    return Lock(str(data["kubernetes_version"]), crds, hashlib.sha256(raw).hexdigest())


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class ResourceSchema:
    """The schema of one kind at one version, in the structural-schema dialect."""

    group: str  # "" for the core group
    version: str
    kind: str
    is_crd: bool
    namespaced: bool
    schema: dict[str, Any] = field(repr=False, compare=False)
    storage: bool = True  # the CRD's storage version (built-ins: always True)
    status_subresource: bool = False  # status is ignored on create (CRDs with a status subresource)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


@dataclass(frozen=True)
class FetchedFile:
    name: str
    source: str  # the mirror file or URL it was read from
    sha256: str
    kinds: tuple[str, ...]  # "RayCluster ray.io/v1", ...


@dataclass
class FetchReport:
    cache_dir: Path
    kubernetes_version: str
    files: list[FetchedFile]
    builtin_kinds: int
    seconds: float

    def __str__(self) -> str:
        lines = [f"schema store: {self.cache_dir}"]
        for f in self.files:
            lines.append(f"  {f.name}: sha256 {f.sha256[:12]}... ok ({', '.join(f.kinds)}) from {f.source}")
        lines.append(
            f"  built-in kinds of Kubernetes {self.kubernetes_version}: {self.builtin_kinds} (kubernetes-validate)"
        )
        lines.append(f"converted {len(self.files)} CRD files in {self.seconds:.1f}s")
        return "\n".join(lines)


# --------------------------------------------------------------------------- locations


def default_cache_dir() -> Path:
    """$RAYGITOPS_CACHE_DIR, else $XDG_CACHE_HOME/raygitops, else ~/.cache/raygitops.

    Never inside the work tree: whatever a checkout contains is an outsider's
    input, and the store must not be something a commit can plant.
    """
    if env := os.environ.get("RAYGITOPS_CACHE_DIR"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "raygitops"


def default_mirror() -> Path | None:
    env = os.environ.get("RAYGITOPS_CRD_MIRROR")
    return Path(env) if env else None


def _normalize_version(version: str | None) -> str:
    """'v1.33', '1.33.0', '1.33' -> '1.33'."""
    text = (version or DEFAULT_KUBERNETES_VERSION).strip().lstrip("v")
    parts = text.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise SchemaStoreError(f"Kubernetes version {version!r} is not of the form 1.33")
    return f"{int(parts[0])}.{int(parts[1])}"


# --------------------------------------------------------------------------- fetch


def fetch(
    cache_dir: Path | None = None,
    mirror: Path | None = None,
    kubernetes_version: str | None = None,
    lock_path: Path = LOCK_FILE,
    allow_download: bool = True,
) -> FetchReport:
    """Get every pinned CRD file, verify its sha256, and convert it into the cache.

    All files are read and verified before anything is written, and the new
    store replaces the old one in one rename, so a failed fetch leaves the
    previous store as it was. `allow_download=False` (a rebuild during a run)
    reads only the mirror folder or downloads verified earlier.
    """
    started = time.perf_counter()
    lock = read_lock(lock_path)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    mirror = mirror if mirror is not None else default_mirror()
    version = _normalize_version(kubernetes_version or lock.kubernetes_version)

    downloads = cache_dir / _DOWNLOADS_DIR
    contents: list[tuple[LockEntry, bytes, str]] = []
    for entry in lock.crds:
        data, source = _read_pinned(entry, mirror, downloads, allow_download)
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry.sha256:
            raise SchemaFetchError(
                f"{entry.path}: sha256 mismatch, refusing it (read from {source}): "
                f"expected {entry.sha256}, got {actual}. The file is not the pinned upstream file; "
                "nothing was written for it"
            )
        contents.append((entry, data, source))

    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".crd-", dir=cache_dir))
    try:
        kinds: list[dict[str, Any]] = []
        files: list[FetchedFile] = []
        for entry, data, source in contents:
            converted = _convert_crd_file(entry, data, staging)
            kinds.extend(converted)
            files.append(
                FetchedFile(
                    entry.name,
                    source,
                    entry.sha256,
                    tuple(f"{k['kind']} {_api_version(k['group'], k['version'])}" for k in converted),
                )
            )
            if mirror is None:  # keep verified downloads so a re-fetch works offline
                target = downloads / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        manifest = {
            "format": STORE_FORMAT,
            "lock_sha256": lock.sha256,
            "kubernetes_version": version,
            "files": [{"name": f.name, "sha256": f.sha256} for f in files],
            "kinds": kinds,
        }
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1))
        _replace_dir(staging, _crd_dir(cache_dir, lock.sha256))
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    builtin_index = _ensure_builtins(cache_dir, version, rebuild=True)
    return FetchReport(cache_dir, version, files, len(builtin_index["kinds"]), time.perf_counter() - started)


def _read_pinned(entry: LockEntry, mirror: Path | None, downloads: Path, allow_download: bool) -> tuple[bytes, str]:
    if mirror is not None:
        path = Path(mirror) / entry.path
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise SchemaFetchError(
                f"{entry.path}: cannot read it from the mirror folder {mirror}: {exc.strerror or exc}"
            ) from exc
    cached = downloads / entry.path
    if cached.is_file():
        data = cached.read_bytes()
        if hashlib.sha256(data).hexdigest() == entry.sha256:
            return data, str(cached)
    if not allow_download:
        raise SchemaFetchError(f"{entry.path}: no mirror folder and no verified download to rebuild from")
    import urllib.error  # only fetch downloads; kept off the validate path's imports
    import urllib.request

    try:
        with urllib.request.urlopen(entry.url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            return response.read(), entry.url
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SchemaFetchError(
            f"{entry.path}: download from {entry.url} failed: {reason}. Without network, point "
            "RAYGITOPS_CRD_MIRROR (or --mirror) at a folder holding the pinned files"
        ) from exc


# --------------------------------------------------------------------------- extra CRDs (the repository config)


@dataclass(frozen=True)
class ExtraCrd:
    """A CRD the repository config adds to the store: a local file, or a URL pinned by its sha256.

    Converted like the pinned CRDs, into a cache folder named after the file's sha256: a local file is
    read (and hashed) on every run, a URL is downloaded only by `fetch` and kept, verified, for validate.
    """

    label: str  # the config file and the entry, for messages
    path: Path | None = None
    url: str | None = None
    sha256: str | None = None  # pinned for a URL; a local file is keyed by its content's hash


def fetch_extra_crds(crds: tuple[ExtraCrd, ...], cache_dir: Path | None = None) -> list[FetchedFile]:
    """Download each URL entry (refusing a sha256 mismatch), read each local one, and convert them all."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    for crd in crds:  # every file verified before anything is converted
        _extra_bytes(crd, cache_dir, allow_download=True)
    files = []
    for crd in crds:
        sha256, manifest = _ensure_extra(cache_dir, crd, rebuild=True)
        source = str(crd.path) if crd.path is not None else str(crd.url)
        kinds = tuple(f"{k['kind']} {_api_version(k['group'], k['version'])}" for k in manifest["kinds"])
        files.append(FetchedFile(crd.label, source, sha256, kinds))
    return files


def _extra_bytes(crd: ExtraCrd, cache_dir: Path, allow_download: bool) -> tuple[bytes, str]:
    """The file's bytes and their sha256; a URL's comes from the verified copy `fetch` kept."""
    if crd.path is not None:
        try:
            data = crd.path.read_bytes()
        except OSError as exc:
            raise SchemaFetchError(
                f"{crd.label}: cannot read {crd.path}: {exc.strerror or exc}; expected a CustomResourceDefinition "
                "YAML file, its path relative to the config's folder"
            ) from None
        return data, hashlib.sha256(data).hexdigest()
    assert crd.url is not None and crd.sha256 is not None  # the config accepts no other entry
    kept = _extra_download(cache_dir, crd.sha256)
    if kept.is_file():
        data = kept.read_bytes()
        if hashlib.sha256(data).hexdigest() == crd.sha256:
            return data, crd.sha256
    if not allow_download:
        raise SchemaFetchError(f"{crd.label}: {crd.url} is not fetched yet (validate never downloads): {FETCH_HINT}")
    import urllib.error  # only fetch downloads; kept off the validate path's imports
    import urllib.request

    try:
        with urllib.request.urlopen(crd.url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            data = response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise SchemaFetchError(f"{crd.label}: download from {crd.url} failed: {reason}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != crd.sha256:
        raise SchemaFetchError(
            f"{crd.label}: sha256 mismatch for {crd.url}, refusing it: expected {crd.sha256}, got {actual}; "
            "nothing was written for it"
        )
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name(f".{kept.name}.{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(kept)
    return data, actual


def _extra_download(cache_dir: Path, sha256: str) -> Path:
    return cache_dir / _DOWNLOADS_DIR / "extra" / f"{sha256}.yaml"


def _extra_dir(cache_dir: Path, sha256: str) -> Path:
    return cache_dir / f"extra-v{STORE_FORMAT}-{sha256}"


def _ensure_extra(cache_dir: Path, crd: ExtraCrd, rebuild: bool = False) -> tuple[str, dict[str, Any]]:
    """The sha256 and converted manifest of one extra CRD, converting it when missing or not verifying."""
    if crd.sha256 is not None and not rebuild:  # a URL: its folder is known without reading the file
        manifest = _read_manifest(_extra_dir(cache_dir, crd.sha256) / _MANIFEST, source_sha256=crd.sha256)
        if manifest is not None:
            return crd.sha256, manifest
    data, sha256 = _extra_bytes(crd, cache_dir, allow_download=False)
    folder = _extra_dir(cache_dir, sha256)
    if not rebuild:
        manifest = _read_manifest(folder / _MANIFEST, source_sha256=sha256)
        if manifest is not None:
            return sha256, manifest
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extra-", dir=cache_dir))
    try:
        entry = LockEntry(name=crd.label, url=crd.url or "", sha256=sha256, path=crd.label)
        manifest = {"format": STORE_FORMAT, "source_sha256": sha256, "kinds": _convert_crd_file(entry, data, staging)}
        (staging / _MANIFEST).write_text(json.dumps(manifest, indent=1))
        with contextlib.suppress(OSError):  # another process converted the same file at the same moment
            _replace_dir(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sha256, manifest


def _replace_dir(new: Path, target: Path) -> None:
    """Swap `new` in as `target` with renames, so readers never see a half-written store."""
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _schema_file(group: str, version: str, kind: str) -> str:
    return f"{group or 'core'}_{version}_{kind}.json"


def _crd_dir(cache_dir: Path, lock_sha256: str) -> Path:
    """The converted CRDs of one lock: another lock (or format) never reads them."""
    return cache_dir / f"{_CRD_DIR}-v{STORE_FORMAT}-{lock_sha256[:16]}"


def _builtin_dir(cache_dir: Path, version: str) -> Path:
    """The converted built-in kinds of one Kubernetes version, in this format (older raygitops keep theirs)."""
    return cache_dir / f"{_BUILTIN_DIR}-v{STORE_FORMAT}" / f"v{version}"


def _write_schema(out_dir: Path, file_name: str, schema: Any) -> str:
    """Write one converted schema as JSON; returns the sha256 the manifest records for it."""
    data = json.dumps(_share(schema), separators=(",", ":"), allow_nan=False).encode()
    (out_dir / file_name).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


# A sub-schema used more than once (a pod template appears many times in a RayJob) is written once, in
# "shared", and referred to as {"\u0000": index}: a RayJob is 8x smaller and parses 5x faster than as a tree.
_SHARED_KEY = "\u0000"


def _share(schema: Any) -> dict[str, Any]:
    """{"shared": [...], "root": ...}: `schema` with each repeated dict or list written once."""
    uses: dict[int, int] = {}
    order: list[Any] = []  # repeated nodes, children before parents

    def count(node: Any) -> None:
        if not isinstance(node, (dict, list)):
            return
        if isinstance(node, dict) and list(node) == [_SHARED_KEY]:
            raise ValueError("a schema holds the reserved key")  # cannot happen in a CRD; never guessed around
        uses[id(node)] = uses.get(id(node), 0) + 1
        if uses[id(node)] == 1:
            for child in node.values() if isinstance(node, dict) else node:
                count(child)
            order.append(node)

    count(schema)
    index = {id(node): i for i, node in enumerate(n for n in order if uses[id(n)] > 1)}

    def encode(node: Any, top: bool = False) -> Any:
        if not isinstance(node, (dict, list)):
            return node
        if not top and id(node) in index:
            return {_SHARED_KEY: index[id(node)]}
        if isinstance(node, dict):
            return {k: encode(v) for k, v in node.items()}
        return [encode(v) for v in node]

    shared = [encode(node, top=True) for node in order if id(node) in index]
    return {"shared": shared, "root": encode(schema)}


def _unshare(data: Any) -> Any:
    """The schema tree of a file written by _share; shared nodes become one object again."""
    shared = data["shared"]

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if len(node) == 1 and _SHARED_KEY in node:
                return shared[node[_SHARED_KEY]]  # earlier entries are resolved already
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    node[key] = resolve(value)
        elif isinstance(node, list):
            for position, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    node[position] = resolve(value)
        return node

    for position, node in enumerate(shared):
        shared[position] = resolve(node)
    return resolve(data["root"])


# --------------------------------------------------------------------------- CRD conversion


def _convert_crd_file(entry: LockEntry, data: bytes, out_dir: Path) -> list[dict[str, Any]]:
    try:
        documents = [d for d in yaml.load_all(data, Loader=SAFE_LOADER) if d]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or " ".join(str(exc).split())
        raise SchemaFetchError(f"{entry.path}: not valid YAML: {problem}{where}") from None
    kinds: list[dict[str, Any]] = []
    interner = _Interner()
    for crd in documents:
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        try:
            kinds.extend(_convert_crd(crd, entry.name, interner, out_dir))
        except (KeyError, TypeError, AttributeError) as exc:
            name = crd.get("metadata", {}).get("name") if isinstance(crd.get("metadata"), dict) else None
            raise SchemaFetchError(
                f"{entry.path}: CustomResourceDefinition {name or '(unnamed)'} is malformed ({type(exc).__name__}: "
                f"{exc}); expected spec.group, spec.names.kind, spec.names.plural, spec.scope and spec.versions "
                "with a name and schema.openAPIV3Schema each"
            ) from None
    if not kinds:
        raise SchemaFetchError(f"{entry.path}: holds no served CustomResourceDefinition version")
    return kinds


def _convert_crd(crd: dict[str, Any], source: str, interner: _Interner, out_dir: Path) -> list[dict[str, Any]]:
    """The served versions of one CRD, each written as one schema file."""
    kinds: list[dict[str, Any]] = []
    spec = crd["spec"]
    group, kind, namespaced = spec["group"], spec["names"]["kind"], spec.get("scope") == "Namespaced"
    if not all(isinstance(name, str) and name for name in (group, kind, spec["names"]["plural"])):
        raise TypeError("spec.group, spec.names.kind and spec.names.plural must be non-empty strings")
    for version in spec["versions"]:
        if not version.get("served", True):
            continue  # the API server answers "no matches for kind" for it
        raw = (version.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}
        if not isinstance(raw, dict):
            raise TypeError(f"versions {version['name']}: schema.openAPIV3Schema must be a mapping")
        schema = interner.intern(_strip_docs(raw))
        file_name = _schema_file(group, version["name"], kind)
        kinds.append(
            {
                "group": group,
                "version": version["name"],
                "kind": kind,
                "plural": spec["names"]["plural"],
                "namespaced": namespaced,
                "storage": bool(version.get("storage")),
                "status_subresource": "status" in (version.get("subresources") or {}),
                "file": file_name,
                "sha256": _write_schema(out_dir, file_name, schema),
                "source": source,
            }
        )
    return kinds


def _strip_docs(schema: Any) -> Any:
    """A copy of a schema node without documentation keys (field names are kept)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DOC_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _strip_docs(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = _strip_docs(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_strip_docs(sub) for sub in value]
        else:  # default, enum, required, x-kubernetes-validations...: data, kept as written
            out[key] = value
    return out


class _Interner:
    """Shares identical sub-trees, so conversion holds each repeated pod template once.

    Keys are built bottom-up from the ids of already-shared children, so each
    node is hashed once. Consumers must treat schemas as read-only.
    """

    def __init__(self) -> None:
        self._pool: dict[Any, Any] = {}

    def intern(self, node: Any) -> Any:
        if isinstance(node, dict):
            items: Any = {k: self.intern(v) for k, v in node.items()}
            key = ("d", tuple(sorted((k, self._key(v)) for k, v in items.items())))
        elif isinstance(node, list):
            items = [self.intern(v) for v in node]
            key = ("l", tuple(self._key(v) for v in items))
        else:
            return node
        return self._pool.setdefault(key, items)

    @staticmethod
    def _key(value: Any) -> Any:
        if isinstance(value, (dict, list)):
            return ("id", id(value))
        return (type(value).__name__, value)


# --------------------------------------------------------------------------- built-in conversion

# Built-in kinds the API server serves without a namespace; every other built-in kind is namespaced.
_CLUSTER_SCOPED_BUILTINS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "DeviceTaintRule",
        "FlowSchema",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "SelfSubjectAccessReview",
        "SelfSubjectReview",
        "SelfSubjectRulesReview",
        "ServiceCIDR",
        "StorageClass",
        "StorageVersion",
        "StorageVersionMigration",
        "SubjectAccessReview",
        "TokenReview",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
    }
)
_META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta."  # DeleteOptions, WatchEvent, Status: not objects one applies


def _package_definitions(version: str) -> tuple[Path, str]:
    """The package's definitions file for `version` and a fingerprint of it.

    Found without importing kubernetes_validate (which pulls in jsonschema):
    a warm validate should not pay for that.
    """
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise SchemaStoreError("the kubernetes-validate package is not installed: run `make setup`")
    root = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    path = root / f"v{version}.0-local-strict" / "_definitions.json"
    if not path.is_file():
        available = sorted(
            (p.name[1:].split(".0-")[0] for p in root.glob("v*-local-strict")),
            key=lambda v: tuple(int(x) for x in v.split(".")),
        )
        raise SchemaStoreError(
            f"Kubernetes {version} is not in the installed kubernetes-validate package; "
            f"choose one of {', '.join(available)}"
        )
    stat = path.stat()
    return path, f"{stat.st_size}-{stat.st_mtime_ns}"


def kubernetes_versions_serving(api_version: str, kind: str) -> list[str]:
    """The Kubernetes versions (X.Y) of the installed kubernetes-validate package that serve this
    built-in apiVersion and kind, oldest first: to say which --kubernetes-version accepts it."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    group, _, version = api_version.rpartition("/")
    stem = "-".join(part for part in (kind.lower(), group.split(".")[0] if group else "", version) if part)
    found = [p.name[1:].split(".0-")[0] for p in root.glob("v*-local-strict") if (p / f"{stem}.json").is_file()]
    return sorted(found, key=lambda v: tuple(int(x) for x in v.split(".")))


def _ensure_builtins(cache_dir: Path, version: str, rebuild: bool = False) -> dict[str, Any]:
    """The built-in index for `version`, converting from the package when missing or outdated."""
    definitions_path, fingerprint = _package_definitions(version)
    folder = _builtin_dir(cache_dir, version)
    index_path = folder / _MANIFEST
    if not rebuild:
        index = _read_manifest(index_path, source_fingerprint=fingerprint)
        if index is not None:
            return index  # else missing, damaged or outdated: converted again below
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".v{version}-", dir=folder.parent))
    try:
        index = _convert_builtins(definitions_path, version, fingerprint, staging)
        (staging / _MANIFEST).write_text(json.dumps(index, indent=1))
        with contextlib.suppress(OSError):  # another process converted the same version at the same moment: use theirs
            _replace_dir(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return index


def _convert_builtins(path: Path, version: str, fingerprint: str, out_dir: Path) -> dict[str, Any]:
    definitions = json.loads(path.read_text())["$defs"]
    converter = _BuiltinConverter(definitions)
    kinds: list[dict[str, Any]] = []
    for name, definition in definitions.items():
        gvks = definition.get("x-kubernetes-group-version-kind") or []
        if name.startswith(_META_PREFIX) or len(gvks) != 1:
            continue
        gvk = gvks[0]
        group, ver, kind = gvk.get("group", ""), gvk["version"], gvk["kind"]
        if kind.endswith("List") and "items" in definition.get("properties", {}):
            continue  # list wrappers are a client-side convenience, not objects the server stores
        schema = converter.convert_definition(name)
        file_name = _schema_file(group, ver, kind)
        kinds.append(
            {
                "group": group,
                "version": ver,
                "kind": kind,
                "namespaced": kind not in _CLUSTER_SCOPED_BUILTINS,
                "storage": True,
                "status_subresource": "status" in definition.get("properties", {}),
                "file": file_name,
                "sha256": _write_schema(out_dir, file_name, schema),
            }
        )
    return {"format": STORE_FORMAT, "kubernetes_version": version, "source_fingerprint": fingerprint, "kinds": kinds}


class _BuiltinConverter:
    """kubernetes-validate JSON Schema -> the CRD structural-schema dialect."""

    _RECURSIVE: ClassVar[dict[str, Any]] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

    def __init__(self, definitions: dict[str, Any]) -> None:
        self._definitions = definitions
        self._done: dict[str, dict[str, Any]] = {}
        self._in_progress: set[str] = set()
        self._interner = _Interner()

    def convert_definition(self, name: str) -> dict[str, Any]:
        if name in self._done:
            return self._done[name]
        if name in self._in_progress:
            # Only JSONSchemaProps (inside CustomResourceDefinition) refers to itself;
            # accepting anything there keeps every converted schema a finite tree.
            return self._RECURSIVE
        self._in_progress.add(name)
        converted: dict[str, Any] = self._interner.intern(self._convert(self._definitions[name]))
        self._in_progress.discard(name)
        self._done[name] = converted
        return converted

    def _convert(self, node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return self.convert_definition(node["$ref"].rsplit("/", 1)[-1])
        if "oneOf" in node:
            return self._convert_one_of(node["oneOf"])
        out: dict[str, Any] = {}
        types = node.get("type")
        if isinstance(types, list):
            concrete = [t for t in types if t != "null"]
            if "null" in types:
                out["nullable"] = True
            if len(concrete) == 1:
                out["type"] = concrete[0]
        elif isinstance(types, str):
            out["type"] = types
        for key, value in node.items():
            if key in ("type", "properties", "items", "additionalProperties") or key in _DOC_KEYS:
                continue
            if key.startswith("x-kubernetes-patch") or key in (
                "x-kubernetes-group-version-kind",
                "x-kubernetes-unions",
            ):
                continue
            out[key] = value
        if "properties" in node:
            out["properties"] = {k: self._convert(v) for k, v in node["properties"].items()}
        if isinstance(node.get("items"), dict):
            out["items"] = self._convert(node["items"])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = self._convert(extra)
        elif extra is None and out.get("type") == "object" and "properties" in node:
            out["x-kubernetes-preserve-unknown-fields"] = True  # JSON Schema's default: extras allowed
        elif extra is None and out.get("type") in ("object", None) and "properties" not in node:
            out["x-kubernetes-preserve-unknown-fields"] = True  # RawExtension, FieldsV1: any content
        return out

    def _convert_one_of(self, alternatives: list[dict[str, Any]]) -> dict[str, Any]:
        types: set[str] = set()
        nullable = False
        for alternative in alternatives:
            declared = alternative.get("type")
            for t in declared if isinstance(declared, list) else [declared]:
                if t == "null":
                    nullable = True
                elif isinstance(t, str):
                    types.add(t)
        out: dict[str, Any]
        if types == {"string", "integer"}:
            out = {"x-kubernetes-int-or-string": True}
        elif types == {"string", "number"}:
            out = {"format": "quantity"}
        else:  # no other oneOf exists in the package; accept anything rather than guess
            out = {"x-kubernetes-preserve-unknown-fields": True}
        if nullable:
            out["nullable"] = True
        return out


# --------------------------------------------------------------------------- the store


@dataclass
class _Entry:
    group: str
    version: str
    kind: str
    is_crd: bool
    namespaced: bool
    storage: bool
    status_subresource: bool
    path: Path
    sha256: str
    extra: ExtraCrd | None = None  # a CRD of the repository config, rebuilt from its own file
    loaded: ResourceSchema | None = None


def _crd_entries(manifest: dict[str, Any], folder: Path, extra: ExtraCrd | None = None) -> list[_Entry]:
    """The kinds a CRD manifest (pinned or of the config) records, each to be read from `folder`."""
    return [
        _Entry(
            k["group"],
            k["version"],
            k["kind"],
            True,
            k["namespaced"],
            k["storage"],
            k["status_subresource"],
            folder / k["file"],
            k["sha256"],
            extra=extra,
        )
        for k in manifest["kinds"]
    ]


class SchemaStore:
    """Read-only view of a fetched store; schemas are parsed (JSON) and verified on first use."""

    def __init__(self, cache_dir: Path, kubernetes_version: str, entries: list[_Entry]) -> None:
        self.cache_dir = cache_dir
        self.kubernetes_version = kubernetes_version
        self._by_gvk: dict[tuple[str, str, str], _Entry] = {}
        self._kinds_by_group: dict[str, set[str]] = {}
        self._versions: dict[tuple[str, str], set[str]] = {}
        for entry in entries:
            # A CRD never shadows a built-in: the API server refuses such a CRD.
            self._by_gvk.setdefault((entry.group, entry.version, entry.kind), entry)
            self._kinds_by_group.setdefault(entry.group, set()).add(entry.kind)
            self._versions.setdefault((entry.group, entry.kind), set()).add(entry.version)

    @classmethod
    def open(
        cls,
        cache_dir: Path | None = None,
        kubernetes_version: str | None = DEFAULT_KUBERNETES_VERSION,
        extra_crds: tuple[ExtraCrd, ...] = (),
    ) -> SchemaStore:
        """The store of the pinned CRDs, the built-in kinds of `kubernetes_version`, and the config's CRDs."""
        cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        version = _normalize_version(kubernetes_version)
        lock_sha256 = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()  # no YAML parse on the hot path
        crd_dir = _crd_dir(cache_dir, lock_sha256)
        manifest = _read_crd_manifest(crd_dir, lock_sha256)
        if manifest is None:  # missing, damaged or from another lock: rebuild it, never trust it
            _rebuild_crds(cache_dir, version)
            manifest = _read_crd_manifest(crd_dir, lock_sha256)
            if manifest is None:
                raise SchemaStoreError(f"schema store at {cache_dir} does not verify after a rebuild: {FETCH_HINT}")
        entries = _crd_entries(manifest, crd_dir)
        builtin_index = _ensure_builtins(cache_dir, version)
        builtin_dir = _builtin_dir(cache_dir, version)
        builtins = [
            _Entry(
                k["group"],
                k["version"],
                k["kind"],
                False,
                k["namespaced"],
                True,
                k["status_subresource"],
                builtin_dir / k["file"],
                k["sha256"],
            )
            for k in builtin_index["kinds"]
        ]
        extras: list[_Entry] = []
        for crd in extra_crds:
            try:
                sha256, extra_manifest = _ensure_extra(cache_dir, crd)
            except SchemaFetchError as exc:
                raise SchemaStoreError(str(exc)) from None
            extras.extend(_crd_entries(extra_manifest, _extra_dir(cache_dir, sha256), crd))
        return cls(cache_dir, version, builtins + entries + extras)

    def schema_for(self, api_version: str, kind: str) -> ResourceSchema | None:
        group, _, version = api_version.rpartition("/")
        entry = self._by_gvk.get((group, version, kind))
        if entry is None:
            return None
        if entry.loaded is None:
            entry.loaded = self._load(entry)
        return entry.loaded

    def holds_group(self, group: str) -> bool:
        return group in self._kinds_by_group

    def kinds_in_group(self, group: str) -> set[str]:
        return set(self._kinds_by_group.get(group, ()))

    def versions_of(self, group: str, kind: str) -> set[str]:
        return set(self._versions.get((group, kind), ()))

    def is_namespaced(self, api_version: str, kind: str) -> bool | None:
        group, _, version = api_version.rpartition("/")
        entry = self._by_gvk.get((group, version, kind))
        return entry.namespaced if entry is not None else None

    def kinds(self) -> list[tuple[str, str, str]]:
        """Every (group, version, kind) the store serves, without loading any schema."""
        return sorted(self._by_gvk)

    def all_schemas(self) -> Iterator[ResourceSchema]:
        """Every schema, loaded (~30 ms for all): for writers such as the kubeconform one."""
        for group, version, kind in sorted(self._by_gvk):
            schema = self.schema_for(_api_version(group, version), kind)
            if schema is not None:
                yield schema

    def _load(self, entry: _Entry) -> ResourceSchema:
        schema = _read_verified(entry.path, entry.sha256)
        if schema is None:  # damaged or altered: rebuild from the pinned sources, then read once more
            if entry.extra is not None:
                try:
                    _ensure_extra(self.cache_dir, entry.extra, rebuild=True)
                except SchemaFetchError as exc:
                    raise SchemaStoreError(str(exc)) from None
            elif entry.is_crd:
                _rebuild_crds(self.cache_dir, self.kubernetes_version)
            else:
                _ensure_builtins(self.cache_dir, self.kubernetes_version, rebuild=True)
            schema = _read_verified(entry.path, entry.sha256)
        if schema is None:
            raise SchemaStoreError(
                f"schema store at {self.cache_dir} is damaged ({entry.path.name} does not verify "
                f"after a rebuild): {FETCH_HINT}"
            )
        return ResourceSchema(
            group=entry.group,
            version=entry.version,
            kind=entry.kind,
            is_crd=entry.is_crd,
            namespaced=entry.namespaced,
            schema=schema,
            storage=entry.storage,
            status_subresource=entry.status_subresource,
        )


def _read_verified(path: Path, sha256: str) -> Any | None:
    """The JSON schema at `path` if its bytes have the recorded sha256, else None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != sha256:
        return None
    try:
        return _unshare(json.loads(data))
    except (ValueError, KeyError, IndexError, TypeError, RecursionError):
        return None


def _read_crd_manifest(crd_dir: Path, lock_sha256: str) -> dict[str, Any] | None:
    return _read_manifest(crd_dir / _MANIFEST, lock_sha256=lock_sha256)


def _read_manifest(path: Path, **expected: str) -> dict[str, Any] | None:
    """The manifest at `path` if it is ours: this format, the `expected` source, every kind with a sha256."""
    try:
        manifest: dict[str, Any] = json.loads(path.read_bytes())
        if (
            manifest["format"] == STORE_FORMAT
            and all(manifest[key] == value for key, value in expected.items())
            and all(isinstance(k["sha256"], str) and isinstance(k["file"], str) for k in manifest["kinds"])
        ):
            return manifest
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _rebuild_crds(cache_dir: Path, kubernetes_version: str) -> None:
    """Convert the pinned CRDs again from the mirror or verified downloads; no network during a run."""
    try:
        fetch(cache_dir, kubernetes_version=kubernetes_version, allow_download=False)
    except SchemaFetchError as exc:
        raise SchemaStoreError(f"no usable schema store at {cache_dir} ({exc}): {FETCH_HINT}") from None
