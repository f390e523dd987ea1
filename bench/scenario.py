"""How the benchmarks play a `temporary_support_mission` request from start to its last task.

The answers are read from each task's form spec (the wire format of engine/forms.py), so a field
added to the diagram is filled in without touching this file: values named here first, then a
plausible value by type. The mission dates lie in the past, so the timer at its end date fires as
soon as the DGS has signed and the whole request runs without a timer worker.
"""
from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any, Iterable, Mapping

PROCESS = "temporary_support_mission"
PROJECT_LEADS = ("nadia", "julien")
#: agents with a line manager in the demo organisation, and a project lead who is not that manager
AGENTS = (("thomas", "nadia"), ("pierre", "nadia"), ("marie", "julien"), ("lea", "julien"))
#: who answers a task offered to a group (the demo organisation's holders of that role)
GROUP_MEMBERS = {"coordinator": ("luc",), "hr": ("sophie", "karim"), "dgs": ("claire",)}
#: the positive answer of a decision field, whatever the task calls it
POSITIVE = ("approve", "accept", "sign", "agree", "yes", "validate", "complete")


#: each description gets its own two days, shared by at most three requests (3 × 10 % + 10 % = 40 %):
#: missions count on the days they overlap (engine/facts.py), and every request must stay eligible
_descriptions = itertools.count()


def request_values(agent: str, n: int = 0) -> dict[str, Any]:
    """The starter's answers on `describe_mission` (10 % of the agent's time, two days in the past)."""
    start = date(1900, 1, 1) + timedelta(days=2 * (next(_descriptions) // 3))
    return {
        "title": f"Appui au projet de covoiturage n°{n}",
        "project": "Plan de mobilité des agents",
        "objectives": "Analyser les trajets domicile-travail et proposer des lignes de covoiturage.",
        "expertise_level": "intermediate",
        "time_share": 10,
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=1)).isoformat(),
        "agent": agent,
        "is_project_support": True,
    }


TEXTS = {
    "working_time_arrangement": "Le mardi, en télétravail ; relais assuré par l'équipe.",
    "skills_gained": "Analyse de données de mobilité, animation d'ateliers.",
    "comment": "",
}


def answers(form: Mapping[str, Any], given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Values for every writable field of `form`: `given` first, then a plausible value by type."""
    given = given or {}
    values: dict[str, Any] = {}
    for field in form.get("fields", []):
        name, kind = field["id"], field["type"]
        constraints = field.get("constraints") or {}
        if "readonly" in constraints:
            continue
        if name in given:
            values[name] = given[name]
        elif kind == "enum":
            options = [o["id"] for o in field.get("options") or []]
            values[name] = next((o for o in POSITIVE if o in options), options[0] if options else None)
        elif kind == "boolean":
            values[name] = True
        elif kind == "long":
            values[name] = int(constraints.get("min") or 1)
        elif kind == "date":
            values[name] = constraints.get("min") or "2025-03-28"
        elif name in TEXTS:
            if TEXTS[name] or field.get("required"):
                values[name] = TEXTS[name] or "RAS"
        elif field.get("required") or kind == "string":
            values[name] = "Une réponse rédigée, de quelques mots."[: int(constraints.get("maxlength") or 200)]
    return values


def actor_for(assignee: str | None, candidate_users: Iterable[str], candidate_groups: Iterable[str],
              excluded: Iterable[str] = (), n: int = 0) -> str:
    """Who of the demo organisation does a task: its assignee, a candidate, or a holder of its role."""
    excluded = set(excluded)
    if assignee:
        return assignee
    people = [u for u in candidate_users if u not in excluded]
    for group in candidate_groups:
        people += [u for u in GROUP_MEMBERS.get(group, ()) if u not in excluded]
    if not people:
        raise RuntimeError(f"nobody in the demo organisation can do a task offered to {list(candidate_groups)}")
    return people[n % len(people)]
