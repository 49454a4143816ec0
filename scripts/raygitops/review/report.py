"""Report: a diff as text for a terminal, markdown for a pull-request comment, or JSON for machines."""

from __future__ import annotations

import json
from collections import Counter

from .capacity import Resources
from .diff import TargetDiff
from .effects import Change, Effect, Level

FORMATS = ("text", "markdown", "json")
_ORDER = {Level.DANGER: 0, Level.WARNING: 1, Level.INFO: 2}
COMMENT_MARKER = "<!-- raygitops-diff -->"  # lets CI find and replace its own earlier comment


def format_diff(diffs: list[TargetDiff], output: str, base: str, head: str) -> str:
    if output == "json":
        return _json(diffs)
    if output == "markdown":
        return _markdown(diffs, base, head)
    return _text(diffs, base, head)


def _json(diffs: list[TargetDiff]) -> str:
    data = {
        "targets": [
            {
                "path": d.path,
                "changes": [c.to_dict() for c in d.changes],
                "capacity": {
                    "before": d.before.to_dict(),
                    "after": {**d.after.to_dict(), "peak_extra": d.peak_extra.to_dict()},
                },
            }
            for d in diffs
        ]
    }
    return json.dumps(data, indent=2) + "\n"


def _counts(diff: TargetDiff) -> Counter[Level]:
    return Counter(e.level for c in diff.changes for e in c.effects)


def _subject(change: Change) -> str:
    pair = change.pair
    name = pair.key.display
    if pair.change == "renamed" and pair.old is not None:
        name = f"{pair.key.kind}/{pair.key.namespace + '/' if pair.key.namespace else ''}{pair.old.name} -> {pair.key.name}"
    return f"{name} ({pair.change})"


def _sorted_effects(change: Change) -> list[Effect]:
    return sorted(change.effects, key=lambda e: _ORDER[e.level])


def _capacity_line(diff: TargetDiff) -> str:
    before, after = diff.before.total, diff.after.total
    line = f"{before.describe()} -> {after.describe()}" if before != after else f"{after.describe()} (unchanged)"
    if diff.peak_extra != Resources():
        line += f"; peak during RayService upgrades: +{diff.peak_extra.describe()}"
    unbounded = [f"{w.name}:{g}" for w in diff.after.workloads for g in w.unbounded]
    if unbounded:
        line += f"; not counted (autoscaling without maxReplicas): {', '.join(unbounded)}"
    return line


def _text(diffs: list[TargetDiff], base: str, head: str) -> str:
    lines = [f"raygitops diff {base} -> {head}"]
    for diff in diffs:
        state = " (new target)" if diff.added else " (target removed)" if diff.removed else ""
        lines.append("")
        lines.append(f"{diff.path}{state}: {_resources(len(diff.changes))}")
        for change in diff.changes:
            lines.append(f"  {_subject(change)}")
            for effect in _sorted_effects(change):
                lines.append(f"    {effect.level.value:<7} {effect.id}: {effect.message}")
        lines.append(f"  capacity at full scale: {_capacity_line(diff)}")
    return "\n".join(lines) + "\n"


def _cell(before: float | int, after: float | int, unit: str = "") -> str:
    return f"{before}{unit}" if before == after else f"{before}{unit} → **{after}{unit}**"


def _markdown(diffs: list[TargetDiff], base: str, head: str) -> str:
    lines = [
        COMMENT_MARKER,
        f"### raygitops diff: what this change does to the clusters (`{base}` → `{head}`)",
        "",
        "| Target | Changes | Danger | Warning | Info | CPUs | GPUs | Memory (GiB) | Peak extra during upgrade |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for diff in diffs:
        counts = _counts(diff)
        before, after = diff.before.total.to_dict(), diff.after.total.to_dict()
        peak = diff.peak_extra.describe() if diff.peak_extra != Resources() else "-"
        lines.append(
            f"| `{diff.path}` | {len(diff.changes)} | {counts[Level.DANGER]} | {counts[Level.WARNING]} "
            f"| {counts[Level.INFO]} | {_cell(before['cpu'], after['cpu'])} | {_cell(before['gpu'], after['gpu'])} "
            f"| {_cell(before['memory_gib'], after['memory_gib'])} | {peak} |"
        )
    for diff in diffs:
        if not diff.changes:
            continue
        counts = _counts(diff)
        summary = ", ".join(f"{counts[level]} {level.value}" for level in _ORDER if counts[level])
        lines += [
            "",
            f"<details><summary><code>{diff.path}</code>: {_resources(len(diff.changes))} ({summary})</summary>",
            "",
        ]
        for change in diff.changes:
            lines.append(f"- **{_escape(_subject(change))}**")
            for effect in _sorted_effects(change):
                lines.append(f"  - {_badge(effect.level)} `{effect.id}`: {_escape(effect.message)}")
        lines += ["", f"Capacity at full scale: {_escape(_capacity_line(diff))}", "", "</details>"]
    if not any(d.changes for d in diffs):
        lines += ["", "No rendered resource changes."]
    return "\n".join(lines) + "\n"


def _resources(count: int) -> str:
    return f"{count} changed resource{'' if count == 1 else 's'}"


def _badge(level: Level) -> str:
    return {Level.DANGER: "🔴 **danger**", Level.WARNING: "🟠 warning", Level.INFO: "🔵 info"}[level]


def _escape(text: str) -> str:
    """Keep a message one markdown line: no stray table bars or HTML."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
