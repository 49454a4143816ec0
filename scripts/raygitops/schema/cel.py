"""CEL rules: the `x-kubernetes-validations` of a schema node, compiled once and evaluated.

The API server evaluates each rule with `self` bound to the node's value
(after defaulting). Rules that mention `oldSelf` are transition rules: they
only run on updates, so a manifest (a create) never triggers them and they are
skipped here.

Evaluation uses the `cel` package (common-expression-language, a real CEL
implementation) with its cel-go style extension libraries. Kubernetes adds a
few libraries of its own (quantity, url, ip, ...); a rule calling one the
library lacks is reported as not evaluated, never as passed or failed.
"""

from __future__ import annotations

import re
import sys
import types
from dataclasses import dataclass
from typing import Any

from ..values import quote

# The `cel` package imports its interactive command line (typer, rich, prompt_toolkit)
# from its __init__, which costs ~1 s per run; the evaluator needs none of it. A
# placeholder for `cel.cli` keeps that import out of every `raygitops validate`.
if "cel" not in sys.modules:
    sys.modules.setdefault("cel.cli", types.ModuleType("cel.cli"))

import cel as _cel_library
from cel import stdlib as _cel_stdlib


@dataclass(frozen=True)
class CelRule:
    rule: str
    message: str | None
    message_expression: str | None
    field_path: tuple[str | int, ...]  # relative to the node the rule sits on
    program: Any  # cel.Program, or None when the rule does not compile
    compile_error: str | None
    message_program: Any = None


@dataclass(frozen=True)
class RuleOutcome:
    """A rule that did not pass: `kind` is "failed", "error" or "unsupported"."""

    kind: str
    message: str
    field_path: tuple[str | int, ...]


_compiled: dict[int, tuple[list[Any], tuple[CelRule, ...]]] = {}
_context: Any = None


def rules_for(validations: list[dict[str, Any]]) -> tuple[CelRule, ...]:
    """The create-time rules of one `x-kubernetes-validations` list, compiled once.

    Cached by the list's identity: schemas are shared and read-only, and the
    cache entry keeps the list alive so its id cannot be reused.
    """
    cached = _compiled.get(id(validations))
    if cached is not None and cached[0] is validations:
        return cached[1]
    rules = tuple(r for r in (_compile(v) for v in validations if isinstance(v, dict)) if r is not None)
    _compiled[id(validations)] = (validations, rules)
    return rules


def _compile(validation: dict[str, Any]) -> CelRule | None:
    text = validation.get("rule")
    if not isinstance(text, str):
        return None
    program, error = None, None
    try:
        program = _cel_library.compile(text)
        if "oldSelf" in program.variables():
            return None  # a transition rule: only evaluated on update
    except (ValueError, RuntimeError) as exc:
        if re.search(r"\boldSelf\b", text):
            return None
        error = _first_line(str(exc))
    message_expression = validation.get("messageExpression")
    message_program = None
    if isinstance(message_expression, str):
        try:
            message_program = _cel_library.compile(message_expression)
        except (ValueError, RuntimeError):
            message_program = None
    message = validation.get("message")
    return CelRule(
        rule=text,
        message=message if isinstance(message, str) and message else None,
        message_expression=message_expression if isinstance(message_expression, str) else None,
        field_path=parse_field_path(validation.get("fieldPath")),
        program=program,
        compile_error=error,
        message_program=message_program,
    )


def evaluate(rule: CelRule, value: Any) -> RuleOutcome | None:
    """None when the rule holds for `value`; otherwise what to report."""
    if rule.program is None:
        return RuleOutcome("unsupported", f"rule does not compile here: {rule.compile_error}", rule.field_path)
    context = _shared_context()
    try:
        context.add_variable("self", value)  # may fail too: a YAML key that is not a string
        result = rule.program.execute(context)
    except RuntimeError as exc:
        text = _first_line(str(exc))
        if "Undefined variable or function" in text:
            return RuleOutcome("unsupported", f"uses a function this CEL library lacks: {text}", rule.field_path)
        return RuleOutcome("error", f"evaluation error: {text}", rule.field_path)
    except Exception as exc:
        # cel-go reports e.g. "no such key: x"; the API server rejects the object for it.
        detail = f"no such key: {exc.args[0]}" if isinstance(exc, KeyError) and exc.args else _first_line(str(exc))
        return RuleOutcome("error", f"evaluation error: {detail}", rule.field_path)
    if result is True:
        return None
    if result is not False:
        return RuleOutcome("error", f"rule returned {quote(result)}, expected a boolean", rule.field_path)
    return RuleOutcome("failed", _failure_message(rule, context), rule.field_path)


def _failure_message(rule: CelRule, context: Any) -> str:
    if rule.message_program is not None:
        try:
            text = rule.message_program.execute(context)
            if isinstance(text, str) and text.strip():
                return text
        except Exception:
            pass
    if rule.message:
        return rule.message
    return f"failed rule: {rule.rule}"


def _shared_context() -> Any:
    global _context
    if _context is None:
        _context = _cel_library.Context()
        _cel_stdlib.add_stdlib_to_context(_context)
    return _context


_FIELD_PATH_PART = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]|\[\s*(\d+)\s*\]")


def parse_field_path(field_path: Any) -> tuple[str | int, ...]:
    """`.spec.ports[0]` or `['a.b'].c` -> ("spec", "ports", 0) / ("a.b", "c"); () when absent or malformed."""
    if not isinstance(field_path, str) or not field_path:
        return ()
    parts: list[str | int] = []
    position = 0
    while position < len(field_path):
        match = _FIELD_PATH_PART.match(field_path, position)
        if match is None:
            return ()
        name, quoted, index = match.groups()
        if name is not None:
            parts.append(name)
        elif quoted is not None:
            parts.append(quoted.replace("\\'", "'"))
        else:
            parts.append(int(index))
        position = match.end()
    return tuple(parts)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
