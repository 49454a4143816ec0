"""Defensive accessors: read untrusted YAML values without KeyError or TypeError.

Rules run on documents that may still carry type errors (the schema stage has
already reported those), so every accessor returns an empty value of the
expected type instead of raising.
"""

from __future__ import annotations

import functools
import re
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


# --- shell words -------------------------------------------------------------------------

# One shell word: unquoted runs, '...', "..." (backslash escapes inside) and \x, glued together.
# Possessive quantifiers: linear in the entrypoint's length (shlex is quadratic on a 1 MB word).
_SHELL_WORD = re.compile(r"""(?:[^\s'"\\]++|'[^']*+'|"(?:[^"\\]++|\\.)*+"|\\.)++""", re.S)
_SHELL_PART = re.compile(r"""[^\s'"\\]++|'([^']*+)'|"((?:[^"\\]++|\\.)*+)"|\\(.)""", re.S)
_DOUBLE_QUOTED_ESCAPE = re.compile(r"""\\(["\\$`\n])""")


@functools.lru_cache(maxsize=256)
def shell_words(command: str) -> tuple[str, ...] | None:
    """A command line split as a POSIX shell would (like shlex.split); None on an unclosed quote.

    Cached: several rules read the same entrypoint, and it is parsed once.
    """
    words: list[str] = []
    position, end = 0, len(command)
    while True:
        while position < end and command[position].isspace():
            position += 1
        if position == end:
            return tuple(words)
        match = _SHELL_WORD.match(command, position)
        if match is None:  # an unclosed quote or a trailing backslash
            return None
        words.append("".join(_unquote(part) for part in _SHELL_PART.finditer(match.group())))
        position = match.end()


def _unquote(part: re.Match[str]) -> str:
    single, double, escaped = part.groups()
    if single is not None:
        return single
    if double is not None:
        return _DOUBLE_QUOTED_ESCAPE.sub(r"\1", double)
    if escaped is not None:
        return escaped
    return part.group()
