"""Who may act on a user task, from the fields Camunda Modeler writes on it.

Expressions are deliberately tiny — `${field}` or `${function(field)}` — so they need no evaluator
at all: a process owner names data, never writes code here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

EXPRESSION = re.compile(r"^\$\{\s*(?:(?P<fn>[a-z_][a-z0-9_]*)\s*\(\s*(?P<arg>[a-z_][a-z0-9_]*)\s*\)|(?P<name>[a-z_][a-z0-9_]*))\s*\}$",
                        re.IGNORECASE)

#: functions available inside ${...}: name -> callable(value) -> username(s)
Resolver = Callable[[Any], Any]


@dataclass
class Assignment:
    assignee: str | None = None
    candidate_users: list[str] = field(default_factory=list)
    candidate_groups: list[str] = field(default_factory=list)
    excluded_users: list[str] = field(default_factory=list)


def is_valid_expression(text: str) -> bool:
    return all(EXPRESSION.match(part) or "${" not in part for part in _split(text))


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


def _split(text: str | None) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in re.split(r",(?![^{]*\})", text) if part.strip()]


def _values(text: str | None, data: Mapping[str, Any], functions: Mapping[str, Resolver]) -> list[str]:
    values: list[str] = []
    for part in _split(text):
        match = EXPRESSION.match(part)
        if not match:
            values.append(part)
            continue
        if match.group("name"):
            value = data.get(match.group("name"))
        else:
            fn = functions.get(match.group("fn"))
            value = fn(data.get(match.group("arg"))) if fn else None
        if isinstance(value, (list, tuple, set)):
            values.extend(str(v) for v in value if v)
        elif value:
            values.append(str(value))
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)
