"""Structural validation: what the API server does with an object before it stores it.

For a CRD kind, in the server's order:
  1. prune nulls where the schema is not nullable (a `metadata:` left empty in
     a pod template is dropped, not rejected);
  2. apply `default`s, so `required` fields that carry a default may be omitted
     (RayCluster `workerGroupSpecs[].minReplicas`/`maxReplicas`);
  3. validate types, enums, required, ranges, lengths, item counts, patterns,
     formats, list uniqueness and the value checks of allOf/anyOf/oneOf/not;
     fields the schema does not declare are
     errors, as under `kubectl --validate=strict`, except under
     `x-kubernetes-preserve-unknown-fields` and at embedded resources;
  4. evaluate the `x-kubernetes-validations` CEL rules (not `oldSelf` ones).
Steps 1 and 2 MUTATE `document.body`: later stages see the object as stored.

Built-in kinds run through the same walker against their converted
kubernetes-validate schema; there a null is simply dropped (Go decoding) and
list uniqueness is left to the native checks, as the API server does.

The root's apiVersion, kind and metadata are the identity stage's business;
a root `status` is ignored where the server ignores it on create.

One pass, top-down for pruning/defaulting and type checks, bottom-up for CEL
(a rule sees its fully defaulted subtree). Only fields present in the document
(plus defaults) are visited; per-schema-node facts are computed once and
cached, since schemas are shared and read-only.
"""

from __future__ import annotations

import base64
import binascii
import copy
import difflib
import ipaddress
import json
import math
import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from ..checks.registry import SCHEMA, Subject, declare
from ..findings import Finding, Severity
from ..inputs.documents import Document
from ..values import number_text, quote
from . import cel
from .formats import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, duration_problem, quantity_problem
from .store import ResourceSchema

declare(
    "schema-type",
    """a value of the wrong type, e.g. a string where the schema wants an integer

    Why: the API server decodes each field into its declared type; a string where an integer belongs is rejected.

    Fails:
        workerGroupSpecs:
        - {groupName: cpu, replicas: two}

    Instead:
        workerGroupSpecs:
        - {groupName: cpu, replicas: 2}
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-required",
    """a required field is missing (after defaults are applied)

    Why: the schema lists fields every object needs (after defaults); the API server rejects an object without
    them.

    Fails:
        kind: Deployment
        spec: {template: {...}}   # no selector

    Instead:
        kind: Deployment
        spec: {selector: {matchLabels: {app: web}}, template: {...}}
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-enum",
    """a value that is not one of the schema's allowed values

    Why: only the listed values are accepted; a differently spelt one is rejected.

    Fails:
        # schema: {type: string, enum: [Always, Never]}
        restartPolicy: always

    Instead:
        restartPolicy: Always
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-unknown-field",
    """a field the schema does not declare (kubectl --validate=strict rejects it)

    Why: a field the schema does not declare is dropped silently by `kubectl apply` and rejected under
    --validate=strict; usually a typo or a wrong level.

    Fails:
        headGroupSpec:
          rayStartParam: {num-cpus: "0"}

    Instead:
        headGroupSpec:
          rayStartParams: {num-cpus: "0"}
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-range",
    """a number below the schema's minimum or above its maximum (exclusive bounds included)

    Why: the schema bounds the number; the API server rejects values outside it.

    Fails:
        # schema: {type: integer, minimum: 0}
        value: -1

    Instead:
        value: 0
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-length",
    """a string shorter than minLength or longer than maxLength

    Why: the schema bounds the string's length; the API server rejects a shorter or longer one.

    Fails:
        # schema: {type: string, minLength: 1}
        name: ""

    Instead:
        name: cpu
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-items",
    """a list with fewer than minItems or more than maxItems items

    Why: the schema bounds how many items the list has; the API server rejects fewer or more.

    Fails:
        # schema: {type: array, minItems: 1}
        items: []

    Instead:
        items: [a]
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-properties",
    """a mapping with fewer than minProperties or more than maxProperties entries

    Why: the schema bounds how many entries the mapping has; the API server rejects fewer or more.

    Fails:
        # schema: {type: object, minProperties: 1}
        selector: {}

    Instead:
        selector: {app: ray}
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-pattern",
    """a string that does not match the schema's regular expression

    Why: the schema's regular expression is what the API server checks the string against.

    Fails:
        # schema: {type: string, pattern: '^[a-z]+$'}
        name: Ray

    Instead:
        name: ray
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-format",
    """a value outside its format: int32/int64 range, quantity, duration, date-time, byte, ip, ...

    Why: formats such as int32, quantity, duration and date-time are enforced by the API server even where the
    type matches.

    Fails:
        # schema: {type: integer, format: int32}
        port: 3000000000

    Instead:
        port: 8265
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-list-unique",
    """duplicate items in a list declared x-kubernetes-list-type set, or map (by its keys)

    Why: a list declared as a set, or as a map keyed by some fields, may not hold two equal items or keys; the API
    server rejects the duplicate.

    Fails:
        ports:
        - {containerPort: 8265, protocol: TCP}
        - {containerPort: 8265, protocol: TCP}

    Instead:
        ports:
        - {containerPort: 8265, protocol: TCP}
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "schema-alternatives",
    """a value matching none of its anyOf, not exactly one of its oneOf, or its `not` schema

    Why: anyOf, oneOf and not constrain which shapes are allowed; the API server rejects a value matching none (or
    several of a oneOf).

    Fails:
        # schema: {anyOf: [{type: integer}, {type: string}]}
        value: [8000]

    Instead:
        value: 8000
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "cel-rule",
    """an x-kubernetes-validations rule is false for the object; the message is the CRD's own

    Why: x-kubernetes-validations are the CRD's own CEL rules; the API server rejects an object that breaks one,
    with the message the CRD gives.

    Fails:
        deletionStrategy:
          onSuccess: {policy: DeleteCluster}
          onFailure: {policy: DeleteCluster}
          deletionRules: [...]

    Instead:
        deletionStrategy:
          deletionRules: [...]
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "cel-error",
    """an x-kubernetes-validations rule fails to evaluate (the API server rejects the object too)

    Why: a rule that cannot be evaluated on the object (a wrong type, a missing field it assumes) makes the API
    server reject the object too.

    Fails:
        # a value of a type the rule does not expect

    Instead:
        # the value with the type the schema declares
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
)
declare(
    "cel-unsupported",
    """warning: a rule uses a Kubernetes CEL function this evaluator lacks, so it was not checked

    Why: the rule uses a Kubernetes CEL library function this evaluator lacks, so raygitops could not check it;
    the API server still will.

    Fails:
        # a CRD rule calling a Kubernetes-only CEL function

    Instead:
        # nothing to change; check the rule by hand or on a test cluster
    """,
    category=SCHEMA,
    subject=Subject.DOCUMENT,
    severity=Severity.WARNING,
)

# The CEL checks among them: what a schema-only engine such as kubeconform cannot do.
CEL_RULES = frozenset({"cel-rule", "cel-error", "cel-unsupported"})

# controller-gen's pattern for resource.Quantity fields: reported as a format, with a readable message.
_QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_ROOT_IDENTITY = frozenset({"apiVersion", "kind", "metadata"})
_NO_SKIP: frozenset[str] = frozenset()
# (kind, path, field): required in the OpenAPI schema only because the Go field has no omitempty; a missing
# NetworkPolicy podSelector decodes as the empty selector (every pod), which networking/validation accepts;
# a binding's roleRef.apiGroup is defaulted to rbac.authorization.k8s.io (pkg/apis/rbac/v1/defaults.go).
_BUILTIN_OPTIONAL = frozenset(
    {
        ("NetworkPolicy", ("spec",), "podSelector"),
        ("RoleBinding", ("roleRef",), "apiGroup"),
        ("ClusterRoleBinding", ("roleRef",), "apiGroup"),
    }
)
_EMBEDDED_ALLOWED = _ROOT_IDENTITY
_TYPE_WORDS = {
    "object": "a mapping (object)",
    "array": "a list (array)",
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
}


# --------------------------------------------------------------------------- public API


def validate_object(document: Document, resource_schema: ResourceSchema) -> list[Finding]:
    """Prune, default, validate and run CEL rules on `document` (whose body is changed in place)."""
    walker = _Walker(document, resource_schema.is_crd)
    walker.root(document.body, resource_schema)
    return walker.findings


# --------------------------------------------------------------------------- schema nodes


class _Node:
    """What the walker needs of one schema node, read once from its dict.

    Child nodes are resolved on first use and kept, so a warm walk goes from
    node to node without looking schemas up again.
    """

    __slots__ = (
        "_additional_node",
        "_children",
        "_items_node",
        "additional",
        "all_of",
        "any_of",
        "default",
        "defaults",
        "embedded",
        "enum",
        "enum_strings",
        "exclusive_maximum",
        "exclusive_minimum",
        "format",
        "has_checks",
        "has_default",
        "int_or_string",
        "is_quantity",
        "items",
        "list_keys",
        "list_type",
        "max_items",
        "max_length",
        "max_properties",
        "maximum",
        "min_items",
        "min_length",
        "min_properties",
        "minimum",
        "not_",
        "nullable",
        "one_of",
        "open",
        "pattern",
        "pattern_text",
        "properties",
        "required",
        "rules",
        "schema",
        "simple_type",
        "type",
        "type_check",
    )

    def __init__(self, schema: dict[str, Any]) -> None:
        get = schema.get
        self.schema = schema  # keeps the dict alive, so its id stays unique in the cache
        self.type: Any = get("type")
        self.type_check = _TYPE_CHECKS.get(self.type) if isinstance(self.type, str) else None
        self.int_or_string = bool(get("x-kubernetes-int-or-string"))
        self.nullable = bool(get("nullable"))
        self.has_default = "default" in schema
        self.default = get("default")
        properties = get("properties")
        self.properties: dict[str, Any] = properties if isinstance(properties, dict) else {}
        additional = get("additionalProperties")
        self.additional = additional if isinstance(additional, dict) else None
        self.open = bool(get("x-kubernetes-preserve-unknown-fields")) or additional is True
        self.embedded = bool(get("x-kubernetes-embedded-resource"))
        items = get("items")
        self.items = items if isinstance(items, dict) else None
        self.required = tuple(r for r in get("required") or () if isinstance(r, str))
        self.defaults = tuple(
            (name, sub["default"])
            for name, sub in self.properties.items()
            if isinstance(sub, dict) and "default" in sub
        )
        enum = get("enum")
        self.enum = enum if isinstance(enum, list) else None
        self.enum_strings = frozenset(self.enum) if self.enum and all(type(e) is str for e in self.enum) else None
        self.minimum, self.maximum = _number(get("minimum")), _number(get("maximum"))
        self.exclusive_minimum = get("exclusiveMinimum") is True
        self.exclusive_maximum = get("exclusiveMaximum") is True
        self.min_length, self.max_length = _int(get("minLength")), _int(get("maxLength"))
        self.min_items, self.max_items = _int(get("minItems")), _int(get("maxItems"))
        self.min_properties, self.max_properties = _int(get("minProperties")), _int(get("maxProperties"))
        pattern = get("pattern")
        self.pattern_text = pattern if isinstance(pattern, str) else None
        self.pattern = _regex(pattern) if isinstance(pattern, str) else None
        self.is_quantity = get("format") == "quantity" or (self.int_or_string and pattern == _QUANTITY_PATTERN)
        fmt = get("format")
        self.format = fmt if isinstance(fmt, str) and fmt in _FORMAT_CHECKS else None
        self.list_type = get("x-kubernetes-list-type")
        self.list_keys = tuple(get("x-kubernetes-list-map-keys") or ())
        validations = get("x-kubernetes-validations")
        self.rules = cel.rules_for(validations) if isinstance(validations, list) and validations else ()
        self.has_checks = (
            any(
                v is not None
                for v in (
                    self.enum,
                    self.minimum,
                    self.maximum,
                    self.min_length,
                    self.max_length,
                    self.min_items,
                    self.max_items,
                    self.min_properties,
                    self.max_properties,
                    self.pattern,
                    self.format,
                )
            )
            or self.is_quantity
        )
        # Value validations in allOf/anyOf/oneOf/not. The anyOf [integer, string] that
        # controller-gen writes beside x-kubernetes-int-or-string only repeats the type.
        self.all_of = _schema_list(get("allOf"))
        self.any_of = _schema_list(get("anyOf"))
        self.one_of = _schema_list(get("oneOf"))
        if self.int_or_string:
            self.any_of = tuple(a for a in self.any_of if set(a) - {"type"})
            self.one_of = tuple(a for a in self.one_of if set(a) - {"type"})
        self.not_ = get("not") if isinstance(get("not"), dict) else None
        self.has_checks = self.has_checks or bool(self.all_of or self.any_of or self.one_of or self.not_)
        # A plain string or boolean leaf: the walker only needs `type(value) is simple_type`.
        plain_leaf = not (self.has_checks or self.rules or self.int_or_string)
        self.simple_type = _SIMPLE_TYPES.get(self.type) if plain_leaf else None
        self._children: dict[str, _Node] = {}
        self._additional_node: _Node | None = None
        self._items_node: _Node | None = None

    def child(self, key: Any) -> _Node | None:
        """The node of field `key`: a declared property, else the additionalProperties schema."""
        node = self._children.get(key)
        if node is not None:
            return node
        sub = self.properties.get(key) if type(key) is str else None
        if sub is not None:
            node = self._children[key] = _node(sub)
            return node
        if self.additional is None:
            return None
        if self._additional_node is None:  # not cached per key: map keys are the user's (labels, resources)
            self._additional_node = _node(self.additional)
        return self._additional_node

    def item_node(self) -> _Node | None:
        if self._items_node is None and self.items is not None:
            self._items_node = _node(self.items)
        return self._items_node


_NODES: dict[int, _Node] = {}


def _node(schema: dict[str, Any]) -> _Node:
    node = _NODES.get(id(schema))
    if node is None or node.schema is not schema:
        node = _NODES[id(schema)] = _Node(schema)
    return node


def _root_skip(resource_schema: ResourceSchema) -> frozenset[str]:
    # The server drops `status` on create for built-ins and for CRDs with a status subresource.
    if resource_schema.status_subresource or not resource_schema.is_crd:
        return _ROOT_IDENTITY | {"status"}
    return _ROOT_IDENTITY


# --------------------------------------------------------------------------- the walker


class _Walker:
    __slots__ = ("crd", "document", "findings", "path", "probe")

    def __init__(self, document: Document, crd: bool, probe: bool = False) -> None:
        self.document = document
        self.crd = crd
        self.findings: list[Finding] = []
        self.path: list[str | int] = []
        # A probe checks a value against an allOf/anyOf/oneOf/not branch: it changes
        # nothing, and fields the branch does not mention are not unknown.
        self.probe = probe

    def root(self, body: dict[str, Any], resource_schema: ResourceSchema) -> None:
        node = _node(resource_schema.schema)
        self.object(body, node, _root_skip(resource_schema))
        if node.rules:
            self.run_cel_rules(body, node)

    def value(self, value: Any, node: _Node) -> None:
        if value is None:
            if not node.nullable:
                self.report("schema-type", f"found null, expected {self.expected(node)}")
            return
        kind = type(value)
        if kind is float and not math.isfinite(value):
            self.report(
                "schema-type",
                f"found {_show(value)}, expected a finite number: JSON has no infinity or NaN, "
                "so kubectl cannot send it",
            )
            return
        if kind is int and not -_FLOAT64_MAX < value < _FLOAT64_MAX:
            self.report(
                "schema-type",
                f"found {_show(value)}, expected a number the API server can decode "
                "(JSON numbers beyond int64 are read as float64, at most about 1.8e308)",
            )
            return
        if node.int_or_string:
            if not (kind is str or kind is int or (kind is float and value.is_integer())):
                self.report("schema-type", f"found {_show(value)}, expected integer or string")
                return
        elif node.type_check is not None:
            if not node.type_check(value):
                self.report("schema-type", f"found {_show(value)}, expected {_TYPE_WORDS.get(node.type, node.type)}")
                return
        elif node.is_quantity and not (kind is str or kind is int or kind is float):
            self.report("schema-type", f"found {_show(value)}, expected a quantity (string or number)")
            return
        if node.has_checks:
            self.check_value(value, node)
        if kind is dict:
            if node.properties or node.additional is not None or node.type == "object" or node.required:
                self.object(value, node, _NO_SKIP)
        elif kind is list:
            items = node.item_node()
            if items is not None:
                path = self.path
                for index, item in enumerate(value):
                    path.append(index)
                    self.value(item, items)
                    path.pop()
            if self.crd and (node.list_type == "set" or node.list_type == "map"):
                self.check_unique(value, node)
        if node.rules and not self.probe:
            self.run_cel_rules(value, node)

    def object(self, value: dict[Any, Any], node: _Node, skip: frozenset[str]) -> None:
        if self.probe:
            self.probe_object(value, node)
            return
        path = self.path
        pruned: list[Any] = []
        children = node._children
        for key, child in value.items():
            if key in skip:
                continue
            sub = children.get(key) or node.child(key)
            if sub is None:
                if node.open or (node.embedded and key in _EMBEDDED_ALLOWED):
                    continue
                path.append(key)
                self.report("schema-unknown-field", self.unknown_field_message(key, node))
                path.pop()
                continue
            if child is None:
                if not self.crd or (not sub.nullable and not sub.has_default):
                    # Go decoding drops a null field of a built-in; the API server prunes
                    # a CRD's non-nullable nulls before defaulting.
                    pruned.append(key)
                    continue
                if sub.nullable:
                    continue  # a null where null is allowed
                child = value[key] = _copy(sub.default)  # same size: safe while iterating
            if type(child) is sub.simple_type:
                continue  # most leaves: a plain string or boolean of the right type
            path.append(key)
            self.value(child, sub)
            path.pop()
        for key in pruned:
            del value[key]
        for name, default in node.defaults:
            if name not in value:
                value[name] = _copy(default)
                default_node = node.child(name)
                if default_node is not None:  # always: defaults come from declared properties
                    path.append(name)
                    self.value(value[name], default_node)  # a default may itself be defaulted further
                    path.pop()
        for name in node.required:
            if name not in value and name not in skip and not self.optional_in_go(name):
                path.append(name)
                self.report("schema-required", f"required field {json.dumps(name)} is missing")
                path.pop()

    def optional_in_go(self, name: str) -> bool:
        """A field the built-in OpenAPI schema calls required that the API server's Go validation does not."""
        return not self.crd and (self.document.kind, tuple(self.path), name) in _BUILTIN_OPTIONAL

    def probe_object(self, value: dict[Any, Any], node: _Node) -> None:
        path = self.path
        for key, child in value.items():
            sub = node.child(key)
            if sub is not None and child is not None:
                path.append(key)
                self.value(child, sub)
                path.pop()
        for name in node.required:
            if name not in value:
                path.append(name)
                self.report("schema-required", f"required field {json.dumps(name)} is missing")
                path.pop()

    def check_alternatives(self, value: Any, node: _Node) -> None:
        for branch in node.all_of:
            self.findings.extend(self.branch_findings(value, branch))
        if node.any_of:
            failures = [self.branch_findings(value, branch) for branch in node.any_of]
            if all(failures):
                first = failures[0][0].message
                self.report(
                    "schema-alternatives",
                    f"found {_show(value)}, expected to match at least one of {len(failures)} "
                    f"alternatives (anyOf); the first says: {first}",
                )
        if node.one_of:
            matched = sum(1 for branch in node.one_of if not self.branch_findings(value, branch))
            if matched != 1:
                self.report(
                    "schema-alternatives",
                    f"found {_show(value)}, matching {matched} of {len(node.one_of)} alternatives, "
                    "expected exactly one (oneOf)",
                )
        if node.not_ is not None and not self.branch_findings(value, node.not_):
            self.report("schema-alternatives", f"found {_show(value)}, which matches a schema it must not (not)")

    def branch_findings(self, value: Any, branch: dict[str, Any]) -> list[Finding]:
        probe = _Walker(self.document, self.crd, probe=True)
        probe.path = list(self.path)
        probe.value(value, _node(branch))
        return probe.findings

    # ------------------------------------------------------------------ value checks

    def check_value(self, value: Any, node: _Node) -> None:
        kind = type(value)
        if node.all_of or node.any_of or node.one_of or node.not_ is not None:
            self.check_alternatives(value, node)
        if node.enum is not None and not _in_enum(value, node):
            allowed = ", ".join(_show_plain(e) for e in node.enum[:12]) + (", ..." if len(node.enum) > 12 else "")
            self.report("schema-enum", f"found {_show_plain(value)}, expected one of {allowed}")
        if kind is str:
            self.check_string(value, node)
        elif kind is int or kind is float:
            self.check_number(value, node)
        elif kind is list:
            count = len(value)
            if node.min_items is not None and count < node.min_items:
                self.report("schema-items", f"found {count} item(s), expected at least {node.min_items}")
            if node.max_items is not None and count > node.max_items:
                self.report("schema-items", f"found {count} items, expected at most {node.max_items}")
        elif kind is dict:
            count = len(value)
            if node.min_properties is not None and count < node.min_properties:
                self.report("schema-properties", f"found {count} entries, expected at least {node.min_properties}")
            if node.max_properties is not None and count > node.max_properties:
                self.report("schema-properties", f"found {count} entries, expected at most {node.max_properties}")

    def check_string(self, value: str, node: _Node) -> None:
        length = len(value)
        if node.min_length is not None and length < node.min_length:
            self.report(
                "schema-length", f"found {_show(value)} ({length} characters), expected at least {node.min_length}"
            )
        if node.max_length is not None and length > node.max_length:
            self.report(
                "schema-length", f"found {_show(value)} ({length} characters), expected at most {node.max_length}"
            )
        if node.is_quantity:
            # CRDs carry controller-gen's quantity pattern; built-ins only the format.
            if not node.pattern.search(value) if node.pattern is not None else quantity_problem(value):
                self.report(
                    "schema-format", f"found {_show(value)}, expected a quantity such as 500m, 2, 1.5Gi or 100M"
                )
            return
        if node.pattern is not None and not node.pattern.search(value):
            self.report("schema-pattern", f"found {_show(value)}, expected a string matching {node.pattern_text}")
        if node.format is not None:
            problem = _FORMAT_CHECKS[node.format](value)
            if problem:
                self.report("schema-format", f"found {_show(value)}, expected {problem}")

    def check_number(self, value: int | float, node: _Node) -> None:
        if node.is_quantity:
            return  # a number is a valid quantity (built-in kinds accept `cpu: 0.5`)
        low, high = node.minimum, node.maximum
        if low is not None and (value <= low if node.exclusive_minimum else value < low):
            bound = f"greater than {_num(low)}" if node.exclusive_minimum else f"at least {_num(low)}"
            self.report("schema-range", f"found {_num(value)}, expected {bound}")
        if high is not None and (value >= high if node.exclusive_maximum else value > high):
            bound = f"less than {_num(high)}" if node.exclusive_maximum else f"at most {_num(high)}"
            self.report("schema-range", f"found {_num(value)}, expected {bound}")
        # A built-in kind decodes into an int32 and fails; a custom resource is stored as JSON, and the API
        # server's schema validation checks formats of strings only (kube-openapi), so it takes any integer.
        if node.format == "int32" and not self.crd and not INT32_MIN <= value <= INT32_MAX:
            self.report(
                "schema-format",
                f"found {_num(value)}, expected an int32 ({INT32_MIN} to {INT32_MAX}): the value would overflow",
            )
        elif node.format == "int64" and not INT64_MIN <= value <= INT64_MAX:
            self.report("schema-format", f"found {_num(value)}, expected an int64 ({INT64_MIN} to {INT64_MAX})")

    def check_unique(self, value: list[Any], node: _Node) -> None:
        keyed = node.list_type == "map" and bool(node.list_keys)
        seen: dict[Any, int] = {}
        for index, item in enumerate(value):
            if keyed and type(item) is dict:
                identity = _identity(tuple(item.get(k) for k in node.list_keys))
            else:
                identity = _identity(item)
            first = seen.setdefault(identity, index)
            if first == index:
                continue
            self.path.append(index)
            if keyed and type(item) is dict:
                what = ", ".join(f"{k}={_show_plain(item.get(k))}" for k in node.list_keys)
                expected = f"unique items by their keys {', '.join(node.list_keys)}"
            else:
                what, expected = _show_plain(item), "unique items"
            self.report(
                "schema-list-unique", f"found duplicate item {what} (same as item {first}), expected {expected}"
            )
            self.path.pop()

    # ------------------------------------------------------------------ CEL

    def run_cel_rules(self, value: Any, node: _Node) -> None:
        for rule in node.rules:
            outcome = cel.evaluate(rule, value)
            if outcome is None:
                continue
            self.path.extend(outcome.field_path)
            if outcome.kind == "failed":
                self.report("cel-rule", outcome.message)
            elif outcome.kind == "error":
                self.report("cel-error", f"rule {rule.rule!r}: {outcome.message}")
            else:
                self.report("cel-unsupported", f"rule {rule.rule!r} not checked: {outcome.message}", Severity.WARNING)
            del self.path[len(self.path) - len(outcome.field_path) :]

    # ------------------------------------------------------------------ reporting

    def report(self, rule: str, message: str, severity: Severity = Severity.ERROR) -> None:
        # The finding carries the path; the message says only what is wrong there.
        self.findings.append(self.document.finding(rule, severity, tuple(self.path), message))

    def expected(self, node: _Node) -> str:
        if node.int_or_string:
            return "integer or string"
        return _TYPE_WORDS.get(node.type, node.type) if node.type else "a value"

    def unknown_field_message(self, key: Any, node: _Node) -> str:
        known = sorted(node.properties)
        close = difflib.get_close_matches(str(key), known, n=1)
        if close:
            hint = f'; did you mean "{close[0]}"?'
        elif known and len(known) <= 12:
            hint = f"; expected one of {', '.join(known)}"
        elif not known:
            hint = "; this mapping takes no fields"
        else:
            hint = ""
        return f"unknown field {json.dumps(str(key))}{hint}"


# --------------------------------------------------------------------------- prepare-only walk


# --------------------------------------------------------------------------- helpers


def _is_integer(value: Any) -> bool:
    kind = type(value)
    return kind is int or (kind is float and value.is_integer())


_FLOAT64_MAX = int(sys.float_info.max)

_SIMPLE_TYPES: dict[Any, type] = {"string": str, "boolean": bool}
_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": _is_integer,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
}


def _in_enum(value: Any, node: _Node) -> bool:
    if node.enum_strings is not None:
        return type(value) is str and value in node.enum_strings
    # Type-aware: in Python True == 1, in JSON they differ.
    return any(type(e) is type(value) and e == value for e in node.enum or ())


def _copy(value: Any) -> Any:
    # Schemas are shared: a default put into a document must never alias them.
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value


def _schema_list(value: Any) -> tuple[dict[str, Any], ...]:
    return tuple(v for v in value if isinstance(v, dict)) if isinstance(value, list) else ()


def _number(value: Any) -> int | float | None:
    return value if type(value) in (int, float) else None


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


_REGEX_CACHE: dict[str, re.Pattern[str] | None] = {}


def _regex(pattern: str) -> re.Pattern[str] | None:
    if pattern not in _REGEX_CACHE:
        try:
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except re.error:  # an RE2 construct Python lacks: not checkable here, so not reported
            _REGEX_CACHE[pattern] = None
    return _REGEX_CACHE[pattern]


def _date_time_problem(value: str) -> str | None:
    text = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
    try:
        if "T" not in text.upper() or datetime.fromisoformat(text).tzinfo is None:
            raise ValueError
    except ValueError:
        return "an RFC 3339 date-time such as 2024-01-31T12:00:00Z"
    return None


def _date_problem(value: str) -> str | None:
    try:
        date.fromisoformat(value)
    except ValueError:
        return "a date such as 2024-01-31"
    return None


def _byte_problem(value: str) -> str | None:
    # The API server decodes with Go's base64.StdEncoding, which skips '\r' and '\n':
    # PEM-style data split over lines (`ca.crt: |`) is valid, other whitespace is not.
    try:
        base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return "base64-encoded data"
    return None


def _ip_problem(version: int) -> Any:
    def check(value: str) -> str | None:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return f"an IPv{version} address"
        return None if address.version == version else f"an IPv{version} address"

    return check


def _cidr_problem(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return "a CIDR such as 10.0.0.0/16"
    return None


_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")

# String formats the API server checks; int32/int64 are checked as numbers.
_FORMAT_CHECKS: dict[str, Any] = {
    "date-time": _date_time_problem,
    "date": _date_problem,
    "duration": lambda v: "a duration such as 30s, 5m or 1h30m" if duration_problem(v) else None,
    "byte": _byte_problem,
    "ipv4": _ip_problem(4),
    "ipv6": _ip_problem(6),
    "cidr": _cidr_problem,
    "uuid": lambda v: None if _UUID.fullmatch(v) else "a UUID",
    "int32": lambda v: None,
    "int64": lambda v: None,
}


def _show(value: Any) -> str:
    """A found value with its type: "two" (string), 3 (integer), a mapping, a list."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (boolean)"
    if isinstance(value, int):
        return f"{number_text(value)} (integer)"
    if isinstance(value, float):
        return f"{number_text(value)} (number)"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"{json.dumps(text)} (string)"
    if isinstance(value, dict):
        return "a mapping (object)"
    if isinstance(value, list):
        return "a list (array)"
    return quote(value)


def _identity(value: Any) -> Any:
    """A hashable stand-in for a list item, to find duplicates; type-aware (true and 1 differ)."""
    if type(value) is tuple:  # list-map key values: usually strings and integers
        if all(type(v) in (str, int, type(None)) for v in value):
            return value
    elif type(value) in (str, int):
        return (type(value), value)
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):  # mixed-type or absurdly deep values
        return repr(value)


def _show_plain(value: Any) -> str:
    return quote(value, 80)


def _num(value: int | float) -> str:
    return number_text(value)
