"""Kubernetes value formats, as apimachinery's validation package defines them.

Each `*_problem` function returns None for a valid value, or a short phrase
saying what is wrong ("must be no more than 63 characters"), so callers can
build one message that names the field, the value and the expectation.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from functools import lru_cache

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
DNS1035_LABEL_MAX = 63
LABEL_VALUE_MAX = 63
ANNOTATIONS_TOTAL_MAX = 256 * 1024

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_IANA_SVC_NAME = re.compile(r"[-a-z0-9]+")


def dns1123_label_problem(value: str) -> str | None:
    if len(value) > DNS1123_LABEL_MAX:
        return f"must be no more than {DNS1123_LABEL_MAX} characters"
    if not _DNS1123_LABEL.fullmatch(value):
        return "must be a lowercase RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit"
    return None


def dns1123_subdomain_problem(value: str) -> str | None:
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        return f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        return "must be a lowercase RFC 1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
    return None


def dns1035_label_problem(value: str) -> str | None:
    if len(value) > DNS1035_LABEL_MAX:
        return f"must be no more than {DNS1035_LABEL_MAX} characters"
    if not _DNS1035_LABEL.fullmatch(value):
        return "must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit"
    return None


def qualified_name_problem(value: str) -> str | None:
    """A label or annotation key: optional DNS subdomain prefix, '/', then a name of <= 63 chars."""
    prefix, slash, name = value.rpartition("/")
    if slash and not prefix:
        return "prefix part must be non-empty"
    if slash:
        problem = dns1123_subdomain_problem(prefix)
        if problem:
            return f"prefix part {problem}"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED_NAME.fullmatch(name):
        return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    return None


def label_value_problem(value: str) -> str | None:
    if len(value) > LABEL_VALUE_MAX:
        return f"must be no more than {LABEL_VALUE_MAX} characters"
    if not _LABEL_VALUE.fullmatch(value):
        return "must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    return None


def port_name_problem(value: str) -> str | None:
    """IANA_SVC_NAME, as container and Service port names must be."""
    if len(value) > 15:
        return "must be no more than 15 characters"
    if not _IANA_SVC_NAME.fullmatch(value):
        return "must contain only lowercase letters, digits and '-'"
    if not re.search(r"[a-z]", value):
        return "must contain at least one letter"
    if value.startswith("-") or value.endswith("-") or "--" in value:
        return "must not begin or end with '-' or contain '--'"
    return None


def port_number_problem(value: object, low: int = 1) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be an integer"
    if not low <= value <= 65535:
        return f"must be between {low} and 65535, inclusive"
    return None


# Quantity: <sign><digits>[.<digits>][suffix], the suffix binary (Ki..Ei),
# decimal SI (n u m "" k M G T P E) or a decimal exponent (e3, E-2).
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?"
)
_SUFFIX_FACTORS: dict[str, Decimal] = {
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def parse_quantity(value: object) -> Decimal | None:
    """The numeric value of a resource quantity ("500m" -> 0.5), or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # .inf and .nan have no JSON form: kubectl cannot even send them
    if isinstance(value, (int, float)):
        return Decimal(value) if isinstance(value, int) else Decimal(repr(value))  # no str() of a huge int
    return _parse_quantity_text(value) if isinstance(value, str) else None


# A bundle repeats a few quantities ("1", "2Gi") thousands of times; bounded, so distinct ones cost no memory.
@lru_cache(maxsize=1024)
def _parse_quantity_text(value: str) -> Decimal | None:
    match = _QUANTITY.fullmatch(value)
    if not match:
        return None
    suffix = match.group("suffix") or ""
    try:
        number = Decimal(match.group("number"))
        if suffix[:1] in ("e", "E") and len(suffix) > 1:
            return number * (Decimal(10) ** int(suffix[1:]))
        return number * _SUFFIX_FACTORS[suffix]
    except (ArithmeticError, ValueError):  # decimal.Overflow on "1e999999999", too long exponents
        return None


def quantity_problem(value: object) -> str | None:
    if parse_quantity(value) is None:
        return (
            "must be a quantity such as 500m, 2, 1.5Gi or 100M (regex '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$')"
        )
    return None


# Go's time.ParseDuration: a sequence of decimal numbers with units, e.g. "1h30m", "300ms", "-1.5h".
_DURATION = re.compile(r"[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+|[-+]?0")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float | None:
    """Seconds in a Go duration string ("1m30s" -> 90.0), or None if it is not one."""
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        return None
    sign = -1.0 if value.startswith("-") else 1.0
    total = sum(float(n) * _DURATION_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))
    return sign * total


def duration_problem(value: object) -> str | None:
    if not isinstance(value, str) or parse_duration(value) is None:
        return "must be a duration such as 30s, 5m or 1h30m"
    return None


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
