"""Playing `temporary_support_mission` requests through the engine (no HTTP): the genuine open
tasks of the task-list measurement and the templates the bulk loader clones."""
from __future__ import annotations

from typing import Any, Mapping

from engine import cancel_instance, complete_task, find_user, queries, start_instance, unit_of_work
from engine.models import Instance

from . import scenario


def start(sessions, starter: str) -> int:
    with unit_of_work(sessions) as s:
        return start_instance(s, scenario.PROCESS, find_user(s, starter), {}).id


def advance(sessions, instance_id: int, steps: int, agent: str,
            overrides: Mapping[str, Mapping[str, Any]] | None = None, n: int = 0, until_end: bool = False) -> None:
    """Complete `steps` tasks, the oldest open one first, answered as scenario.answers says;
    `overrides` maps a task's bpmn id to answers that win (e.g. a rejection). With `until_end`,
    `steps` is a bound and the request must end within it."""
    overrides = overrides or {}
    for _ in range(steps):
        with unit_of_work(sessions) as s:
            open_tasks = queries.open_tasks(s, instance_id)
            if not open_tasks:
                status = s.get(Instance, instance_id).status
                if until_end and status != "running":
                    return
                raise RuntimeError(f"instance {instance_id} has no open task left ({status})")
            task = open_tasks[0]
            given = dict(scenario.request_values(agent, n) if task.bpmn_id == "describe_mission" else {})
            given.update(overrides.get(task.bpmn_id, {}))
            actor = scenario.actor_for(task.assignee, task.candidate_users, task.candidate_groups,
                                       task.excluded_users, n)
            complete_task(s, task.id, find_user(s, actor), scenario.answers(task.form, given))
    if until_end:
        with unit_of_work(sessions) as s:
            if s.get(Instance, instance_id).status == "running":
                raise RuntimeError(f"instance {instance_id} still running after {steps} tasks")


def withdraw(sessions, instance_id: int, starter: str) -> None:
    with unit_of_work(sessions) as s:
        cancel_instance(s, instance_id, find_user(s, starter), "Le projet est reporté.")


#: The shapes of request the bulk loader clones: name -> (weight, how to play it). Most requests
#: of a system that has run for years are over; the mix averages about three task rows a request.
def _running(k):
    return lambda S, i, starter, agent: advance(S, i, k, agent)


def _ending(overrides=None):
    return lambda S, i, starter, agent: advance(S, i, 20, agent, overrides, until_end=True)


TEMPLATES = {
    "withdrawn_early": (0.33, lambda S, i, starter, agent: withdraw(S, i, starter)),
    "rejected_by_coordination": (0.24, _ending({"coordinator_review": {"decision": "reject",
                                                                       "comment": "Renfort structurel."}})),
    "declined_by_agent": (0.10, _ending({"agent_consent": {"decision": "decline", "comment": "Pas disponible."}})),
    "completed": (0.13, _ending()),
    "waiting_for_description": (0.05, _running(0)),
    "waiting_for_coordination": (0.05, _running(1)),
    "waiting_for_answers": (0.05, _running(2)),
    "waiting_for_hr": (0.03, _running(4)),
    "waiting_for_dgs": (0.02, _running(5)),
}
