"""How a value from the input reads in a message: always short, whatever the input.

Manifests are written by outsiders, so a message never formats a whole value:
a 1 MB string, a 5,000-digit integer or a mapping of thousands of keys reads as
a short prefix. Every function here does work bounded by its limit, not by the
size of the value (str() of a huge integer alone is quadratic, and refused by
Python beyond 4,300 digits).
"""

from __future__ import annotations

import json
import math
from typing import Any

QUOTE_LIMIT = 60  # characters of a value a message quotes
MESSAGE_LIMIT = 1000  # characters of a whole message; the rest is cut

_DIGITS_SHOWN = 20


def short_text(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` itself, or its first characters and "..." when longer than `limit`."""
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


def number_text(value: int | float) -> str:
    """A number as YAML would spell it, bounded: 1e+308, .inf, .nan, or "a 5000-digit integer"."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if abs(value) < 10**_DIGITS_SHOWN:
        return str(value)
    digits = int((abs(value).bit_length() - 1) * math.log10(2)) + 1  # counted without formatting it
    if abs(value) >= 10**digits:
        digits += 1
    return f"{'a negative' if value < 0 else 'an'} integer of {digits} digits"


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A short rendering of any decoded YAML value: JSON-like, cut at `limit` characters."""
    parts: list[str] = []
    _render(value, parts, limit + 1, depth=0)
    return short_text("".join(parts), limit)


def _render(value: Any, parts: list[str], budget: int, depth: int) -> int:
    """Append a rendering of `value` to `parts`, stopping once `budget` characters are written."""
    if budget <= 0:
        return budget
    if isinstance(value, str):
        text = json.dumps(value[:budget], ensure_ascii=False)
    elif value is None:
        text = "null"
    elif isinstance(value, (bool, int, float)):
        text = number_text(value)
    elif isinstance(value, dict) and depth < 8:
        parts.append("{")
        budget -= 1
        for count, (key, item) in enumerate(value.items()):
            if budget <= 0:
                break
            if count:
                parts.append(", ")
                budget -= 2
            budget = _render(key if isinstance(key, str) else str(type(key).__name__), parts, budget, depth + 1)
            parts.append(": ")
            budget = _render(item, parts, budget - 2, depth + 1)
        parts.append("}")
        return budget - 1
    elif isinstance(value, list) and depth < 8:
        parts.append("[")
        budget -= 1
        for count, item in enumerate(value):
            if budget <= 0:
                break
            if count:
                parts.append(", ")
                budget -= 2
            budget = _render(item, parts, budget, depth + 1)
        parts.append("]")
        return budget - 1
    elif isinstance(value, (dict, list)):
        text = "{...}" if isinstance(value, dict) else "[...]"
    else:
        text = type(value).__name__
    parts.append(text)
    return budget - len(text)
