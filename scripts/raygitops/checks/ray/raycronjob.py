"""What KubeRay rejects in a RayCronJob: its schedule and its time zone.

The job template inside is a RayJob spec; the RayJob and RayCluster rules
already check it at its place in the RayCronJob.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator

from ...inputs.documents import Document
from . import Bundle, Problem, rule
from ._access import text

# The standard five-field cron format KubeRay parses (robfig/cron ParseStandard).
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {
            m: i
            for i, m in enumerate(
                ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
            )
        },
    ),
    ("day of week", 0, 6, {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}),
)
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_EVERY = re.compile(r"@every\s+((\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)")


def _value(token: str, low: int, high: int, names: dict[str, int]) -> int | None:
    if token.upper() in names:
        return names[token.upper()]
    if not token.isdigit():
        return None
    number = int(token)
    return number if low <= number <= high else None


def _field_problem(field: str, name: str, low: int, high: int, names: dict[str, int]) -> str | None:
    """None if `field` is valid for this cron position, else what is wrong with it."""
    for part in field.split(","):
        span, slash, step = part.partition("/")
        if slash and (not step.isdigit() or int(step) == 0):
            return f"{name} step {step!r} must be a positive number"
        if span in ("*", "?"):
            continue
        start, dash, end = span.partition("-")
        first = _value(start, low, high, names)
        last = _value(end, low, high, names) if dash else first
        if first is None or last is None:
            return f"{name} {span!r} must be within {low}-{high}"
        if last < first:
            return f"{name} range {span!r} runs backwards"
    return None


def cron_problem(schedule: str) -> str | None:
    """Why KubeRay's cron parser would reject `schedule`, or None."""
    stripped = schedule.strip()
    if stripped.startswith("@"):
        if stripped in _DESCRIPTORS or _EVERY.fullmatch(stripped):
            return None
        return f"unknown descriptor {stripped.split()[0]!r}"
    fields = stripped.split()
    if len(fields) != 5:
        return f"has {len(fields)} fields, expected 5 (minute hour day-of-month month day-of-week)"
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(value, name, low, high, names)
        if problem:
            return problem
    return None


@rule("raycronjob-schedule", kinds=("RayCronJob",))
def schedule(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """schedule is a standard five-field cron expression, without TZ= or CRON_TZ= (use timeZone).

    Why: KubeRay v1.7.0's RayCronJob validation parses the schedule with robfig/cron's standard parser and rejects
    time zones written into it. A bad schedule is not rejected at apply time: the operator refuses the RayCronJob in
    its reconcile loop, so no RayJob is ever created and nothing runs.

    Fails:
        kind: RayCronJob
        spec:
          schedule: '0 25 * * *'

    Instead:
        kind: RayCronJob
        spec:
          schedule: '0 3 * * *'
    """
    value = document.spec.get("schedule")
    if not isinstance(value, str):
        return
    if "TZ" in value:
        yield Problem(
            ("spec", "schedule"),
            f"schedule {value!r} carries a time zone, which KubeRay rejects; remove TZ=/CRON_TZ= and set spec.timeZone",
        )
        return
    problem = cron_problem(value)
    if problem:
        yield Problem(("spec", "schedule"), f"schedule {value!r} {problem}; use a cron expression such as '0 3 * * *'")


@rule("raycronjob-time-zone", kinds=("RayCronJob",))
def time_zone(document: Document, bundle: Bundle) -> Iterator[Problem]:
    """timeZone, when set, is a non-empty IANA time zone name such as Europe/Berlin.

    Why: the operator loads timeZone as an IANA zone to compute the next run; an empty or unknown name makes KubeRay
    reject the RayCronJob, so it never schedules a job.

    Fails:
        kind: RayCronJob
        spec:
          schedule: '0 3 * * *'
          timeZone: Mars/Olympus

    Instead:
        kind: RayCronJob
        spec:
          schedule: '0 3 * * *'
          timeZone: Asia/Tokyo
    """
    if "timeZone" not in document.spec:
        return
    value = document.spec.get("timeZone")
    if value is None:
        return
    name = text(value)
    if not name:
        yield Problem(
            ("spec", "timeZone"), "timeZone is empty; remove it (operator's zone) or name a zone such as 'Etc/UTC'"
        )
        return
    if name in ("UTC", "Local"):
        return
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        yield Problem(
            ("spec", "timeZone"), f"timeZone {name!r} is not an IANA time zone; use a name such as 'Europe/Berlin'"
        )
