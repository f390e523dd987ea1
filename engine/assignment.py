"""Who may act on a user task, from the fields Camunda Modeler writes on it.

Expressions are deliberately tiny — `${field}` or `${function(field)}` — so they need no evaluator
at all: a process owner names data, never writes code here. `parse_expression` is that grammar,
used both here at run time and by `validation` at upload; lists are split by a one-pass scanner,
so that no input costs more than its length (issue 13: a backtracking pattern took minutes).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

_NAME = r"[A-Za-z][A-Za-z0-9_]*"  # no leading '_': the sandbox's rule for names too
# no nested quantifiers, no overlap between neighbours: a match costs at most the item's length
EXPRESSION = re.compile(rf"^\$\{{\s*(?:(?P<fn>{_NAME})\s*\(\s*(?P<arg>{_NAME})\s*\)|(?P<name>{_NAME}))\s*\}}$")
_LIST_MARKS = re.compile(r"[{},]")

#: functions available inside ${...}: name -> callable(value) -> username(s)
Resolver = Callable[[Any], Any]


@dataclass
class Assignment:
    assignee: str | None = None
    candidate_users: list[str] = field(default_factory=list)
    candidate_groups: list[str] = field(default_factory=list)
    excluded_users: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Expression:
    """`${name}` (`function` None) or `${function(name)}`."""

    name: str
    function: str | None = None


def parse_expression(item: str) -> Expression | None:
    """The expression `item` is, or None when it is not one of the two forms (a literal, or an
    expression the validation refuses: see `invalid_expressions`)."""
    match = EXPRESSION.match(item.strip())
    if not match:
        return None
    if match.group("name"):
        return Expression(match.group("name"))
    return Expression(match.group("arg"), match.group("fn"))


def looks_like_expression(item: str) -> bool:
    return "${" in item or "#{" in item


def split_list(text: str | None) -> list[str]:
    """The items of a comma-separated list, stripped; commas inside `{...}` do not separate.
    One pass over `text`, whatever it holds (unbalanced braces included)."""
    if not text:
        return []
    items: list[str] = []
    depth, start = 0, 0
    for mark in _LIST_MARKS.finditer(text):
        char = mark.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif depth == 0:
            items.append(text[start:mark.start()])
            start = mark.end()
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


def invalid_expressions(text: str | None) -> list[str]:
    """The items of the list `text` that look like expressions but are neither `${name}` nor
    `${function(name)}`."""
    return [item for item in split_list(text) if looks_like_expression(item) and parse_expression(item) is None]


def is_valid_expression(text: str) -> bool:
    return not invalid_expressions(text)


def resolve(extensions: Mapping[str, Any], lane: str | None, data: Mapping[str, Any],
            functions: Mapping[str, Resolver], roles: set[str]) -> Assignment:
    """Resolve a task's assignee, candidates and exclusions against instance data.

    A task with no assignment fields is offered to the role its lane is named after.
    """
    result = Assignment(
        assignee=next(iter(_values(extensions.get("camunda:assignee"), data, functions)), None),
        candidate_users=_values(extensions.get("camunda:candidateUsers"), data, functions),
        candidate_groups=_values(extensions.get("camunda:candidateGroups"), data, functions),
        excluded_users=_values(extensions.get("exclude_users"), data, functions),
    )
    declared = any(extensions.get(k) for k in ("camunda:assignee", "camunda:candidateUsers", "camunda:candidateGroups"))
    if not declared and lane:
        role = lane_role(lane, roles)
        if role:
            result.candidate_groups = [role]
    return result


def lane_role(lane: str, roles: set[str]) -> str | None:
    normalized = re.sub(r"[\s\-]+", "_", lane.strip().lower())
    return normalized if normalized in roles else None


def _values(text: str | None, data: Mapping[str, Any], functions: Mapping[str, Resolver]) -> list[str]:
    values: list[str] = []
    for part in split_list(text):
        expression = parse_expression(part)
        if expression is None:
            values.append(part)
            continue
        if expression.function is None:
            value = data.get(expression.name)
        else:
            fn = functions.get(expression.function)
            value = fn(data.get(expression.name)) if fn else None
        if isinstance(value, (list, tuple, set)):
            values.extend(str(v) for v in value if v)
        elif value:
            values.append(str(value))
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)
