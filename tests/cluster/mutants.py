"""Small, deterministic mutants of valid Kubernetes objects, for the fidelity comparison.

Each mutant is a deep copy of a seed object with one change at one place: a value of the wrong type, an
unknown field, a required field removed, a number out of range, a name or label the API server refuses,
an enum value that does not exist. About half are valid after the change (a different but legal value),
so agreement is measured in both directions. A stand-in until the hostile-input fuzzer lands.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Mutant:
    body: dict[str, Any]
    description: str  # "<mutation> at <path>", for the report


def _walk(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def _get(body: Any, path: Path_) -> Any:
    for part in path:
        body = body[part]
    return body


def _set(body: Any, path: Path_, value: Any) -> None:
    _get(body, path[:-1])[path[-1]] = value


def _dotted(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "<root>"


# Each mutation gets the copy, the chosen path and a random source; it changes the copy in place and returns a
# description, or None when it does not apply to that place.
Mutation = Callable[[dict, Path_, random.Random], "str | None"]

_BAD_NAMES = ["Upper-Case", "under_score", "-leading-dash", "dot.", "x" * 254, ""]
_GOOD_NAMES = ["renamed", "a-b-c", "n0"]
_BAD_LABEL_KEYS = ["bad key", "-dash", "a/b/c", "x" * 64, "example.com/"]
_BAD_LABEL_VALUES = ["has space", "-dash", "x" * 64, "a/b"]


def wrong_type(body: dict, path: Path_, rng: random.Random) -> str | None:
    value = _get(body, path)
    if isinstance(value, bool):
        replacement: Any = rng.choice(["yes", 1])
    elif isinstance(value, int):
        replacement = rng.choice(["two", "1.5", True])
    elif isinstance(value, str):
        replacement = rng.choice([7, True, ["x"], {"k": "v"}])
    elif isinstance(value, list):
        replacement = rng.choice(["item", {"k": "v"}])
    elif isinstance(value, dict) and path:
        replacement = rng.choice(["text", ["x"], 3])
    else:
        return None
    _set(body, path, replacement)
    return f"type {type(value).__name__} -> {type(replacement).__name__}"


def unknown_field(body: dict, path: Path_, rng: random.Random) -> str | None:
    target = _get(body, path)
    if not isinstance(target, dict):
        return None
    name = rng.choice(["replicaz", "extra", "spec2", "contaners", "metadata_"])
    if name in target:
        return None
    target[name] = rng.choice(["x", 1, {"a": "b"}])
    return f"unknown field {name!r}"


def drop_field(body: dict, path: Path_, rng: random.Random) -> str | None:
    if not path or isinstance(path[-1], int) or path[-1] in ("apiVersion", "kind"):
        return None
    del _get(body, path[:-1])[path[-1]]
    return "field removed"


def out_of_range(body: dict, path: Path_, rng: random.Random) -> str | None:
    value = _get(body, path)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    replacement = rng.choice([-1, 0, 65536, 70000, 2**31, value + 1])
    _set(body, path, replacement)
    return f"number {value} -> {replacement}"


def other_string(body: dict, path: Path_, rng: random.Random) -> str | None:
    value = _get(body, path)
    if not isinstance(value, str) or path[-1:] in (("apiVersion",), ("kind",)):
        return None
    replacement = rng.choice(["Bogus", "", "x" * 300, "100Mi", "1x", "TCP", "Always", value.upper(), value + "-2"])
    _set(body, path, replacement)
    return f"string -> {replacement[:20]!r}"


def rename(body: dict, path: Path_, rng: random.Random) -> str | None:
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        return None
    name = rng.choice(_BAD_NAMES + _GOOD_NAMES)
    metadata["name"] = name
    return f"metadata.name -> {name[:20]!r}"


def relabel(body: dict, path: Path_, rng: random.Random) -> str | None:
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        return None
    field = rng.choice(["labels", "annotations"])
    if rng.random() < 0.5:
        key, value = rng.choice(_BAD_LABEL_KEYS), "ok"
    else:
        key, value = "app.kubernetes.io/part", rng.choice(_BAD_LABEL_VALUES + ["fine", "a.b-c_d"])
    metadata.setdefault(field, {})
    if not isinstance(metadata[field], dict):
        return None
    metadata[field][key] = value
    return f"metadata.{field}[{key[:20]!r}] = {value[:20]!r}"


def retype_object(body: dict, path: Path_, rng: random.Random) -> str | None:
    if "apiVersion" not in body:
        return None
    change = rng.choice(["apiVersion", "kind"])
    body[change] = rng.choice(["ray.io/v2", "v2", "Bogus", "raycluster"])
    return f"{change} -> {body[change]!r}"


# (mutation, applies to whole object (True) or to a chosen place (False), weight)
MUTATIONS: list[tuple[Mutation, bool, int]] = [
    (wrong_type, False, 5),
    (unknown_field, False, 4),
    (drop_field, False, 4),
    (out_of_range, False, 3),
    (other_string, False, 4),
    (rename, True, 1),
    (relabel, True, 2),
    (retype_object, True, 1),
]


def mutants(seeds: list[dict[str, Any]], count: int, seed: int = 15) -> list[Mutant]:
    """`count` mutants of `seeds`, the same ones for the same arguments."""
    rng = random.Random(seed)
    weights = [weight for _, _, weight in MUTATIONS]
    produced: list[Mutant] = []
    attempts = 0
    while len(produced) < count and attempts < count * 20:
        attempts += 1
        original = rng.choice(seeds)
        mutation, whole, _ = rng.choices(MUTATIONS, weights)[0]
        body = copy.deepcopy(original)
        places = [p for p, _ in _walk(body)]
        path: Path_ = () if whole else rng.choice(places)
        described = mutation(body, path, rng)
        if described is None or body == original:
            continue
        name = (original.get("metadata") or {}).get("name", "?")
        produced.append(Mutant(body, f"{original.get('kind')}/{name}: {described} at {_dotted(path)}"))
    return produced
