"""What a task's reader may see of its request: the need-to-know rule, decided once for the API and
the pages.

A step shows:
- the request's title and who asked (every task list shows them);
- the read-only fields of its form, and the variables its diagram declares for it: the extension
  property `shows` of the user task, comma-separated variable names (e.g. `title, start_date`);
- the answers given at the step itself: once it is done, to whoever did it and to those who may see
  the request; while it waits, a value typed at an earlier round of the same step by the reader
  themself (a description sent back to its author), never one typed by someone else.

A later candidate never sees an earlier candidate's answers: a step waiting again shows nobody
what someone else answered at it before, and the answers given at a step are hidden from anyone
else who did that same step of the same request later (the next volunteer of a need that reopened
sees neither the previous one's name nor words). Nothing else of the request's data reaches a
task's reader: the request itself is read through `permissions`.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from . import spiff
from .models import HumanTask, User
from .registry import parsed_specs

#: the user task's extension property naming the variables its step shows
SHOWS = "shows"
#: shown with every task: its request's title and who asked
ALWAYS = ("title", "started_by")


#: the user task's extension property naming the variable that receives who did it (a volunteer)
ANSWERED_BY = "completed_by_field"


def declaration(task_spec) -> dict[str, Any]:
    """What a step declares it shows, and the variable that receives who did it, kept with the
    task's form when the task is created (`{"shows": [...], "completed_by_field": ...}`), so that
    reading a task never needs its process's diagram."""
    extensions = spiff.extensions_of(task_spec)
    return {SHOWS: _names(extensions.get(SHOWS)), ANSWERED_BY: extensions.get(ANSWERED_BY) or None}


def declared(task: HumanTask) -> list[str]:
    """The variables `task`'s step shows besides its form (its diagram's `shows` property)."""
    form = task.form or {}
    if SHOWS in form:
        return list(form[SHOWS] or [])
    return _from_diagram(task)  # a task created before steps declared what they show


def answers_visible(task: HumanTask, reader: User, steps: Sequence[HumanTask] | None = None) -> bool:
    """Whether `reader`, who may read `task` (`permissions.can_see_task`), may see who answered it
    and what: whoever answered it; anyone else, unless they did the same step of the same request
    another time (`steps`: the request's tasks; without them only the person who answered)."""
    if task.status != "completed":
        return True  # nothing answered yet
    if task.completed_by == reader.username:
        return True
    if steps is None:
        return False
    return not any(other.bpmn_id == task.bpmn_id and other.id != task.id and other.completed_by == reader.username
                   for other in steps)


def task_data(task: HumanTask, reader: User, steps: Sequence[HumanTask] | None = None) -> dict[str, Any]:
    """The data of `task`'s request that `reader` may see on that task (see the module's rule).

    `steps`, the request's tasks in order, lets a waiting step show the reader's own earlier answers
    at that step and a finished one show its answers to those entitled to them besides its author;
    without them the answer is the same or smaller, never larger."""
    instance = task.instance
    data: Mapping[str, Any] = instance.data or {}
    fields = (task.form or {}).get("fields", [])
    answered = [f["id"] for f in fields if "readonly" not in (f.get("constraints") or {})]
    writers = _last_writers(steps) if steps is not None else {}
    shown = {"title": instance.title, "started_by": instance.started_by}
    for key in [f["id"] for f in fields if f["id"] not in answered] + declared(task):
        if key in data and key not in answered and not str(key).startswith("_") \
                and (key not in writers or answers_visible(writers[key], reader, steps)):
            shown[key] = data[key]  # not what someone answered at a step the reader did another time
    if task.status == "completed":
        if answers_visible(task, reader, steps):
            shown.update({k: v for k, v in (task.data or {}).items() if k in answered})
    elif steps is not None:
        for key in answered:
            writer = writers.get(key)
            if key in data and writer is not None and writer.bpmn_id == task.bpmn_id \
                    and writer.completed_by == reader.username:
                shown[key] = data[key]
    return shown


def steps_of(session: Session, instance_ids: Iterable[int]) -> dict[int, list[HumanTask]]:
    """The tasks of several requests in one query, by request, in order (for a page of tasks)."""
    found: dict[int, list[HumanTask]] = {i: [] for i in set(instance_ids)}
    if found:
        # the steps' answers are read, never their candidates: those load only if asked for
        for row in session.scalars(select(HumanTask).where(HumanTask.instance_id.in_(found))
                                   .options(lazyload(HumanTask.candidates)).order_by(HumanTask.id)):
            found[row.instance_id].append(row)
    return found


def needs_steps(task: HumanTask, reader: User) -> bool:
    """Whether `reader` may see the answers of `task` only once the request's tasks are known: a
    finished step read by someone else than its author (a list then reads them in one query)."""
    return task.status == "completed" and task.completed_by != reader.username


def _last_writers(steps: Sequence[HumanTask]) -> dict[str, HumanTask]:
    writers: dict[str, HumanTask] = {}
    for step in sorted((s for s in steps if s.status == "completed"), key=lambda s: (s.completed_at, s.id)):
        for key in [*(step.data or {}), (step.form or {}).get(ANSWERED_BY)]:
            if key:
                writers[key] = step
    return writers


def _names(value: Any) -> list[str]:
    return [name.strip() for name in str(value or "").split(",") if name.strip()]


def _from_diagram(task: HumanTask) -> list[str]:
    spec, subprocess_specs = parsed_specs(task.instance.version)
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            if getattr(task_spec, "bpmn_id", None) == task.bpmn_id:
                return _names(spiff.extensions_of(task_spec).get(SHOWS))
    return []
