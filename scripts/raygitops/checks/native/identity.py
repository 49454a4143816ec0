"""Identity and metadata: what the API server checks before it looks at a spec.

`check_identity` answers "does the cluster know this type?": apiVersion and
kind present, and, for a group we hold schemas for, a version and kind that
exist there (a typo such as `RayClusters` or `ray.io/v2` is an error that names
what exists). A group we hold nothing for cannot be validated: a warning, or
an error when the caller asks for one.

`check_metadata` applies the rules of ObjectMeta validation: a name (or
generateName) valid for the kind, a namespace that is a DNS label, and label
and annotation keys and values in their formats.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any, Protocol

from ...findings import Finding, Severity, field_name
from ...inputs.documents import Document
from ...schema import formats as fmt
from ...values import number_text, quote
from ..registry import IDENTITY, Subject, declare

declare(
    "missing-api-version",
    """apiVersion is missing or not a string

    Why: without apiVersion the API server cannot tell which schema the object follows and rejects it.

    Fails:
        kind: RayCluster
        metadata: {name: rc}

    Instead:
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata: {name: rc}
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "missing-kind",
    """kind is missing or not a string

    Why: without kind the API server cannot tell what the object is and rejects it.

    Fails:
        apiVersion: ray.io/v1
        metadata: {name: rc}

    Instead:
        apiVersion: ray.io/v1
        kind: RayCluster
        metadata: {name: rc}
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "unknown-api-version",
    """the group exists but does not serve this kind at this version (e.g. ray.io/v2)

    Why: the API server only serves the versions its CRD or release declares; any other is 'no matches for kind'.

    Fails:
        apiVersion: ray.io/v2
        kind: RayCluster

    Instead:
        apiVersion: ray.io/v1
        kind: RayCluster
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "unknown-kind",
    """the group exists but has no such kind (e.g. RayClusters); the closest kind is suggested

    Why: a kind the group does not define is rejected with 'no matches for kind'; a typo is the usual cause.

    Fails:
        apiVersion: ray.io/v1
        kind: RayClusters

    Instead:
        apiVersion: ray.io/v1
        kind: RayCluster
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "unknown-group",
    """no schema is held for the group, so the resource is not validated (an error with --reject-unknown-kinds)

    Why: raygitops holds no schema for the group, so nothing in the resource is checked; the cluster needs the CRD
    too. With --reject-unknown-kinds it is an error.

    Fails:
        apiVersion: example.com/v1
        kind: Widget

    Instead:
        # add the CRD to schemas.lock.yaml, or accept that the resource is not validated
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
    severity=Severity.WARNING,
)
declare(
    "metadata-missing",
    """metadata is missing or not a mapping

    Why: every object needs metadata with a name; without it the API server rejects the object.

    Fails:
        apiVersion: v1
        kind: ConfigMap
        data: {a: b}

    Instead:
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings}
        data: {a: b}
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "metadata-name",
    """metadata.name (or generateName) is missing or not valid for the kind

    Why: names follow the kind's rules (DNS-1123 subdomain or label, lengths such as a CronJob's 52); the API
    server rejects others.

    Fails:
        metadata: {name: Ray_Head}

    Instead:
        metadata: {name: ray-head}
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "metadata-unknown-field",
    """a key under metadata that ObjectMeta does not have (e.g. lables)

    Why: kubectl asks for strict field validation, and the API server rejects an object whose metadata holds a
    field ObjectMeta does not define, for built-in kinds and custom resources alike; a misspelt key is lost.

    Fails:
        metadata: {name: raycluster, lables: {app: ray}}

    Instead:
        metadata: {name: raycluster, labels: {app: ray}}
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "metadata-namespace",
    """metadata.namespace is not a DNS-1123 label, or is set on a cluster-scoped kind

    Why: a namespace name is a DNS-1123 label, else the object is rejected; on a cluster-scoped kind the API
    server ignores it (a warning: the author expected a namespaced object).

    Fails:
        kind: Service
        metadata: {name: ray, namespace: Ray_Dev}

    Instead:
        kind: Service
        metadata: {name: ray, namespace: ray-dev}
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "metadata-label",
    """a label key is not a qualified name or a label value is not a valid label value

    Why: label keys are qualified names and values at most 63 characters of [A-Za-z0-9-_.]; the API server rejects
    others, on a pod template only when the pod is created.

    Fails:
        labels: {app: ray head}

    Instead:
        labels: {app: ray-head}
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)
declare(
    "metadata-annotation",
    """an annotation key is not a qualified name, a value is not a string, or all annotations exceed 256 KiB

    Why: annotation keys are qualified names, values strings, and all of them together at most 256 KiB; the API
    server rejects others.

    Fails:
        annotations: {ray.io/ft-enabled: true}

    Instead:
        annotations: {ray.io/ft-enabled: "true"}
    """,
    category=IDENTITY,
    subject=Subject.DOCUMENT,
)


class KindCatalogue(Protocol):
    """What identity and metadata checks need from the schema store."""

    def holds_group(self, group: str) -> bool: ...
    def kinds_in_group(self, group: str) -> set[str]: ...
    def versions_of(self, group: str, kind: str) -> set[str]: ...
    def is_namespaced(self, api_version: str, kind: str) -> bool | None: ...
    def all_schemas(self) -> Any: ...


# ---------------------------------------------------------------- identity


def check_identity(document: Document, store: KindCatalogue, unknown_group_is_error: bool = False) -> list[Finding]:
    """Findings about apiVersion and kind; empty when the store knows the type."""
    body = document.body
    findings: list[Finding] = []
    api_version = body.get("apiVersion")
    kind = body.get("kind")
    if not isinstance(api_version, str) or not api_version:
        findings.append(
            _error(
                document,
                "missing-api-version",
                ("apiVersion",),
                f"apiVersion is {describe_value(api_version)}; expected a string such as v1, apps/v1 or ray.io/v1",
            )
        )
    if not isinstance(kind, str) or not kind:
        findings.append(
            _error(
                document,
                "missing-kind",
                ("kind",),
                f"kind is {describe_value(kind)}; expected a string such as Service or RayCluster",
            )
        )
    if findings or not isinstance(api_version, str) or not isinstance(kind, str):
        return findings

    group, slash, version = api_version.rpartition("/")
    if (slash and not group) or not version or "/" in group or " " in api_version:
        return [
            _error(
                document,
                "unknown-api-version",
                ("apiVersion",),
                f"apiVersion '{api_version}' is not of the form <group>/<version> or <version> (for the core group)",
            )
        ]

    if not store.holds_group(group):
        return [_unknown_group(document, store, group, api_version, kind, unknown_group_is_error)]

    kinds = store.kinds_in_group(group)
    if kind not in kinds:
        return [
            _error(document, "unknown-kind", ("kind",), _unknown_kind_message(store, group, api_version, kind, kinds))
        ]

    versions = store.versions_of(group, kind)
    if version not in versions:
        served = ", ".join(f"{_join(group, v)}" for v in sorted(versions))
        message = f"apiVersion '{api_version}' does not serve kind {kind}; {kind} is served as: {served}"
        later = _later_kubernetes(store, api_version, kind)
        if later:
            message += f"; Kubernetes {later} serves {api_version} (--kubernetes-version {later} accepts it)"
        return [_error(document, "unknown-api-version", ("apiVersion",), message)]
    return []


def _later_kubernetes(store: KindCatalogue, api_version: str, kind: str) -> str | None:
    """The first Kubernetes version after the store's that serves a built-in apiVersion, if any."""
    current = getattr(store, "kubernetes_version", None)
    group = api_version.rpartition("/")[0]
    if not isinstance(current, str) or ("." in group and not group.endswith(".k8s.io")):
        return None  # CRD groups (ray.io, ...) come with their own release, not with Kubernetes
    from ...schema.store import kubernetes_versions_serving

    def key(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split("."))

    later = [v for v in kubernetes_versions_serving(api_version, kind) if key(v) > key(current)]
    return later[0] if later else None


def _unknown_group(
    document: Document, store: KindCatalogue, group: str, api_version: str, kind: str, as_error: bool
) -> Finding:
    severity = Severity.ERROR if as_error else Severity.WARNING
    shown = group or "the core group"
    message = f"not validated: no schema for {shown} (apiVersion {api_version}, kind {kind})"
    # A typo in the group of a kind it serves (networking.k8s.i0/Ingress), not a CRD group of its own
    # (gateway.networking.k8s.io/HTTPRoute), whose name may be close to a built-in group's.
    known_groups = sorted({schema.group for schema in store.all_schemas() if schema.kind == kind})
    close = difflib.get_close_matches(group, known_groups, n=1, cutoff=0.8)
    if close and close[0] != group:
        message += f"; did you mean group {close[0]}?"
    return document.finding("unknown-group", severity, ("apiVersion",), message)


def _unknown_kind_message(store: KindCatalogue, group: str, api_version: str, kind: str, kinds: set[str]) -> str:
    shown = f"group {group}" if group else "the core group (apiVersion v1)"
    message = f"kind '{kind}' does not exist in {shown}"
    served = _api_versions_by_kind(store)
    suggestion = _closest(kind, kinds)
    if suggestion:
        message += f"; did you mean {suggestion}?"
    elif kind in served:  # right kind, wrong group: `apiVersion: v1, kind: Deployment`
        message += f"; {kind} is served as apiVersion {' or '.join(sorted(served[kind]))}"
    elif (elsewhere := _closest(kind, set(served))) is not None:
        message += f"; did you mean {elsewhere} (apiVersion {' or '.join(sorted(served[elsewhere]))})?"
    if len(kinds) <= 12:
        message += f" (kinds in {group or 'v1'}: {', '.join(sorted(kinds))})"
    return message


def _closest(kind: str, kinds: set[str]) -> str | None:
    by_lower = {k.lower(): k for k in kinds}
    if kind.lower() in by_lower:  # wrong case: "raycluster"
        return by_lower[kind.lower()]
    close = difflib.get_close_matches(kind, sorted(kinds), n=1, cutoff=0.75)
    return close[0] if close else None


def _api_versions_by_kind(store: KindCatalogue) -> dict[str, set[str]]:
    """Every kind of the store and the apiVersions serving it, for "Deployment is in apps/v1"."""
    served: dict[str, set[str]] = {}
    for schema in store.all_schemas():
        served.setdefault(schema.kind, set()).add(_join(schema.group, schema.version))
    return served


def _join(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


# ---------------------------------------------------------------- metadata

# Which name format the API server applies to metadata.name, by (group, kind).
# Most kinds, and every custom resource, use a DNS-1123 subdomain.
# Sources: k8s.io/kubernetes pkg/apis/*/validation (ValidateServiceName is
# NameIsDNS1035Label, ValidateNamespaceName NameIsDNSLabel, StatefulSet names
# are DNS labels since pods take the name as hostname, RBAC names are path
# segments so `system:controller:x` is valid).
_DNS1035_LABEL_KINDS = {("", "Service")}
_DNS1123_LABEL_KINDS = {("", "Namespace"), ("apps", "StatefulSet")}
_PATH_SEGMENT_KINDS = {
    ("rbac.authorization.k8s.io", kind) for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
} | {
    # policy/validation checks only the spec; the generic create (rest.BeforeCreate) checks the name as a path segment.
    ("policy", "PodDisruptionBudget")
}
# Extra length limits: a Job's name becomes a label value on its pods; a
# CronJob appends an 11-character suffix to name its Jobs.
_NAME_MAX_LENGTH = {("batch", "Job"): 63, ("batch", "CronJob"): 52}
# Kinds whose name is not a plain object name (validated elsewhere or free-form).
_NAME_UNCHECKED_KINDS = {("apiextensions.k8s.io", "CustomResourceDefinition")}


def name_problem(group: str, kind: str, name: str) -> tuple[str, str] | None:
    """(format, problem) when `name` is not a valid metadata.name for the kind, else None."""
    key = (group, kind)
    if key in _NAME_UNCHECKED_KINDS:
        return None
    if key in _DNS1035_LABEL_KINDS:
        form, problem = "DNS-1035 label", fmt.dns1035_label_problem(name)
    elif key in _DNS1123_LABEL_KINDS:
        form, problem = "DNS-1123 label", fmt.dns1123_label_problem(name)
    elif key in _PATH_SEGMENT_KINDS:
        form, problem = "path segment", _path_segment_problem(name)
    else:
        form, problem = "DNS-1123 subdomain", fmt.dns1123_subdomain_problem(name)
    if problem is None and key in _NAME_MAX_LENGTH and len(name) > _NAME_MAX_LENGTH[key]:
        problem = f"must be no more than {_NAME_MAX_LENGTH[key]} characters"
    return (form, problem) if problem else None


def _path_segment_problem(name: str) -> str | None:
    if name in (".", ".."):
        return f"may not be '{name}'"
    for bad in ("/", "%"):
        if bad in name:
            return f"may not contain '{bad}'"
    return None


def check_metadata(document: Document, store: KindCatalogue) -> list[Finding]:
    """Findings about metadata: name, namespace, labels, annotations."""
    metadata = document.body.get("metadata")
    if not isinstance(metadata, dict):
        return [
            _error(
                document,
                "metadata-missing",
                ("metadata",),
                f"metadata is {describe_value(metadata)}; expected a mapping with at least a name",
            )
        ]
    return list(_metadata_findings(document, metadata, store))


# The fields of ObjectMeta (apimachinery meta/v1, Kubernetes 1.33): with fieldValidation=Strict (kubectl's
# default) the API server rejects any other key, for built-in kinds and custom resources alike.
OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def _metadata_findings(document: Document, metadata: dict[str, Any], store: KindCatalogue) -> Iterator[Finding]:
    group, kind = document.group, document.kind
    for key in metadata:
        if key not in OBJECT_META_FIELDS:
            yield _error(
                document,
                "metadata-unknown-field",
                ("metadata", str(key)),
                f'unknown field "metadata.{key}": ObjectMeta has no such field',
            )
    yield from _name_findings(document, metadata, group, kind)

    namespace = metadata.get("namespace")
    if namespace is not None:
        if not isinstance(namespace, str):
            yield _error(
                document,
                "metadata-namespace",
                ("metadata", "namespace"),
                f"metadata.namespace is {describe_value(namespace)}; expected a string",
            )
        elif namespace:
            problem = fmt.dns1123_label_problem(namespace)
            if problem:
                yield _error(
                    document,
                    "metadata-namespace",
                    ("metadata", "namespace"),
                    f"metadata.namespace '{namespace}' {problem}",
                )
            elif kind and document.api_version and _cluster_scoped(store, document.api_version, kind):
                # The API server clears it silently, so the manifest applies, but
                # the author expected a namespaced object: worth a warning.
                yield document.finding(
                    "metadata-namespace",
                    Severity.WARNING,
                    ("metadata", "namespace"),
                    f"metadata.namespace '{namespace}' is set on {kind}, which is cluster-scoped; "
                    "the API server ignores it",
                )

    yield from labels_problems_as_findings(document, metadata.get("labels"), ("metadata", "labels"))
    yield from _annotation_findings(document, metadata.get("annotations"))


def _name_findings(document: Document, metadata: dict[str, Any], group: str, kind: str) -> Iterator[Finding]:
    name = metadata.get("name")
    generate_name = metadata.get("generateName")
    if name is None or name == "":
        if generate_name is None or generate_name == "":
            yield _error(
                document,
                "metadata-name",
                ("metadata", "name"),
                "metadata.name is missing; every resource needs a name (or generateName)",
            )
            return
        if not isinstance(generate_name, str):
            yield _error(
                document,
                "metadata-name",
                ("metadata", "generateName"),
                f"metadata.generateName is {describe_value(generate_name)}; expected a string",
            )
            return
        # The server appends a random suffix, so a trailing '-' is fine here.
        masked = generate_name[:-1] + "a" if generate_name.endswith("-") else generate_name
        found = name_problem(group, kind, masked)
        if found:
            form, problem = found
            yield _error(
                document,
                "metadata-name",
                ("metadata", "generateName"),
                f"metadata.generateName '{generate_name}' is not valid for {kind or 'this kind'}, which requires a {form}: it {problem}",
            )
        return
    if not isinstance(name, str):
        yield _error(
            document,
            "metadata-name",
            ("metadata", "name"),
            f"metadata.name is {describe_value(name)}; expected a string",
        )
        return
    found = name_problem(group, kind, name)
    if found:
        form, problem = found
        yield _error(
            document,
            "metadata-name",
            ("metadata", "name"),
            f"metadata.name '{name}' is not valid for {kind or 'this kind'}, which requires a {form}: it {problem}",
        )


def labels_problems(labels: object, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, message) for each invalid key or value of a label map (also used for selectors)."""
    field = field_name(path)
    if labels is None:
        return
    if not isinstance(labels, dict):
        yield path, f"{field} is {describe_value(labels)}; expected a mapping of label keys to string values"
        return
    for key, value in labels.items():
        if not isinstance(key, str):
            yield path, f"{field} key {quote(key)} is a {type(key).__name__}; expected a string"
            continue
        key_problem = fmt.qualified_name_problem(key)
        if key_problem:
            yield (*path, key), f"{field} key '{_short(key)}' is not a valid label key: {key_problem}"
        if not isinstance(value, str):
            yield (
                (*path, key),
                (
                    f"{field}['{_short(key)}'] is {describe_value(value)}; label values must be strings "
                    f'(quote it: "{quote(value)}")'
                ),
            )
            continue
        value_problem = fmt.label_value_problem(value)
        if value_problem:
            yield (
                (*path, key),
                f"{field}['{_short(key)}'] value '{_short(value)}' is not a valid label value: {value_problem}",
            )


def labels_problems_as_findings(document: Document, labels: object, path: tuple[str | int, ...]) -> Iterator[Finding]:
    for where, message in labels_problems(labels, path):
        yield _error(document, "metadata-label", where, message)


def _annotation_findings(document: Document, annotations: object) -> Iterator[Finding]:
    path: tuple[str | int, ...] = ("metadata", "annotations")
    if annotations is None:
        return
    if not isinstance(annotations, dict):
        yield _error(
            document,
            "metadata-annotation",
            path,
            f"metadata.annotations is {describe_value(annotations)}; expected a mapping of keys to string values",
        )
        return
    total = 0
    for key, value in annotations.items():
        if not isinstance(key, str):
            yield _error(
                document,
                "metadata-annotation",
                path,
                f"metadata.annotations key {quote(key)} is a {type(key).__name__}; expected a string",
            )
            continue
        # The API server lowercases annotation keys before checking them.
        problem = fmt.qualified_name_problem(key.lower())
        if problem:
            yield _error(
                document,
                "metadata-annotation",
                (*path, key),
                f"metadata.annotations key '{key}' is not a valid annotation key: {problem}",
            )
        if not isinstance(value, str):
            yield _error(
                document,
                "metadata-annotation",
                (*path, key),
                f"metadata.annotations['{key}'] is {describe_value(value)}; annotation values must be strings",
            )
            continue
        total += len(key.encode()) + len(value.encode())
    if total > fmt.ANNOTATIONS_TOTAL_MAX:
        yield _error(
            document,
            "metadata-annotation",
            path,
            f"metadata.annotations total {total} bytes; must be no more than {fmt.ANNOTATIONS_TOTAL_MAX} bytes "
            "(256 KiB; a client-side `kubectl apply` also stores the whole object in an annotation)",
        )


def _cluster_scoped(store: KindCatalogue, api_version: str, kind: str) -> bool:
    try:
        namespaced = store.is_namespaced(api_version, kind)
    except (KeyError, LookupError):
        return False
    return namespaced is False


# ---------------------------------------------------------------- helpers


def _error(document: Document, rule: str, path: tuple[str | int, ...], message: str) -> Finding:
    return document.finding(rule, Severity.ERROR, path, message)


def describe_value(value: object) -> str:
    """How a wrong value reads in a message: 'missing', 'null', 'a number (3)'."""
    if value is None:
        return "missing or null"
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({number_text(value)})"
    if isinstance(value, str):
        return f"'{_short(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _short(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."
