"""Defensive accessors: read untrusted YAML values without KeyError or TypeError.

Rules run on documents that may still carry type errors (the schema stage has
already reported those), so every accessor returns an empty value of the
expected type instead of raising.
"""

from __future__ import annotations

from typing import Any


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def flag(value: Any) -> bool:
    return value is True


def dig(value: Any, *keys: str | int) -> Any:
    """Follow keys and indices through nested mappings and lists; None where the path breaks."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(value, list) or not -len(value) <= key < len(value):
                return None
            value = value[key]
        else:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
    return value


def scalar_text(value: Any) -> str:
    """A map[string]string value as KubeRay reads it; numbers and booleans as YAML would print them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return ""


# --- containers and env ----------------------------------------------------------------


def containers(pod_spec: dict[str, Any], field: str = "containers") -> list[tuple[int, dict[str, Any]]]:
    return [(i, c) for i, c in enumerate(sequence(pod_spec.get(field))) if isinstance(c, dict)]


def env_entries(container: dict[str, Any], field: str = "env") -> list[tuple[int, dict[str, Any]]]:
    return [(i, e) for i, e in enumerate(sequence(container.get(field))) if isinstance(e, dict)]


def env_var(container: dict[str, Any], name: str) -> tuple[int, dict[str, Any]] | None:
    """The first env entry called `name` (KubeRay's EnvVarExists looks at the name only)."""
    for index, entry in env_entries(container):
        if entry.get("name") == name:
            return index, entry
    return None


def env_is_true(container: dict[str, Any], name: str) -> bool:
    found = env_var(container, name)
    return found is not None and text(found[1].get("value")) in ("1", "true")


def container_port_names(container: dict[str, Any]) -> dict[str, int | None]:
    ports: dict[str, int | None] = {}
    for port in sequence(container.get("ports")):
        name = text(mapping(port).get("name"))
        if name:
            ports[name] = integer(mapping(port).get("containerPort"))
    return ports


def container_port_numbers(container: dict[str, Any]) -> set[int]:
    numbers = {integer(mapping(p).get("containerPort")) for p in sequence(container.get("ports"))}
    return {n for n in numbers if n is not None}
