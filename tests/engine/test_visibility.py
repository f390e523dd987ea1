"""What a task's reader may see (`engine.visibility`) and who may read a finished task, on the real
mission exchange: nadia posts a need, thomas offers to help, she says "not this time", the need
reopens to every agent (ines, hugo the external referent, ...)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from engine import frozen_at, get_task, permissions, queries, unit_of_work, visibility
from engine.errors import NotFound
from engine.models import HumanTask

from .helpers import as_user, complete, open_task
from .test_process_mission_exchange import KEY, NEED, post_need

TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
MOTIVATION = "Libre les jeudis de mars"
COMMENT = "Thomas a trop de dossiers en mars"
SHOWN_TO_VOLUNTEERS = {"title", "started_by", "description", "skills_wanted", "effort_days", "deadline"}


@pytest.fixture(autouse=True)
def today():
    with frozen_at(TODAY):
        yield


def reopened(sessions) -> int:
    """thomas applied, nadia answered no_go: `apply` waits again for every agent but nadia."""
    instance_id = post_need(sessions)
    complete(sessions, instance_id, "apply", "thomas", {"motivation": MOTIVATION})
    complete(sessions, instance_id, "conversation", "nadia", {"outcome": "no_go", "comment": COMMENT})
    return instance_id


def _done(s, instance_id: int, bpmn_id: str) -> HumanTask:
    return s.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id,
                                             HumanTask.status == "completed").order_by(HumanTask.id)).first()


def test_an_offered_step_shows_what_its_diagram_declares_and_nothing_else(deployed):
    instance_id = post_need(deployed)
    with unit_of_work(deployed) as s:
        apply = open_task(s, instance_id, "apply")
        assert visibility.declared(apply) == ["title", "description", "skills_wanted", "effort_days", "deadline"]
        for reader in ("ines", "hugo", "nadia"):
            seen = visibility.task_data(apply, as_user(s, reader), queries.instance_tasks(s, instance_id))
            assert set(seen) == SHOWN_TO_VOLUNTEERS, reader
            assert seen["description"] == NEED["description"] and seen["started_by"] == "nadia"
            assert "started_at" not in seen


def test_the_reopened_step_shows_no_trace_of_the_previous_volunteer(deployed):
    instance_id = reopened(deployed)
    with unit_of_work(deployed) as s:
        again = open_task(s, instance_id, "apply")
        steps = queries.instance_tasks(s, instance_id)
        for reader in ("ines", "hugo", "karim"):
            seen = visibility.task_data(again, as_user(s, reader), steps)
            assert set(seen) == SHOWN_TO_VOLUNTEERS, reader
            assert not {MOTIVATION, COMMENT, "thomas"} & {str(v) for v in seen.values()}, reader
        # thomas may offer again: his own words are there for him, nobody else's
        assert visibility.task_data(again, as_user(s, "thomas"), steps)["motivation"] == MOTIVATION
        # thomas's finished step, for those who may read it: his answer, for him and the requester
        first = _done(s, instance_id, "apply")
        assert visibility.answers_visible(first, as_user(s, "thomas"), steps)
        assert visibility.answers_visible(first, as_user(s, "nadia"), steps)
        assert visibility.task_data(first, as_user(s, "nadia"), steps)["motivation"] == MOTIVATION
        # without the request's tasks, only its author sees the answers: never more
        assert "motivation" not in visibility.task_data(first, as_user(s, "nadia"))


def test_a_finished_step_is_read_by_who_did_it_and_who_sees_the_request_only(deployed):
    instance_id = reopened(deployed)
    with unit_of_work(deployed) as s:
        first = _done(s, instance_id, "apply")
        readable = {name for name in ("thomas", "nadia", "karim", "claire", "julien", "ines", "hugo", "marie")
                    if permissions.can_see_task(s, as_user(s, name), first)}
        # thomas did it; nadia asked; karim is HR; claire is nadia's manager — the other agents may not
        assert readable == {"thomas", "nadia", "karim", "claire"}
        with pytest.raises(NotFound):
            get_task(s, first.id, as_user(s, "hugo"))
        # the step waiting again is still offered to every agent
        again = open_task(s, instance_id, "apply")
        assert permissions.can_see_task(s, as_user(s, "hugo"), again)


def test_the_managers_approval_shows_the_need_and_the_volunteer(deployed):
    instance_id = reopened(deployed)
    complete(deployed, instance_id, "apply", "ines", {"motivation": "Disponible tout mars"})
    complete(deployed, instance_id, "conversation", "nadia", {"outcome": "go", "met_on": "2026-03-04"})
    with unit_of_work(deployed) as s:
        approval = open_task(s, instance_id, "manager_approval")
        seen = visibility.task_data(approval, as_user(s, approval.assignee), queries.instance_tasks(s, instance_id))
        assert seen == {"title": NEED["title"], "started_by": "nadia", "description": NEED["description"],
                        "effort_days": 3, "deadline": NEED["deadline"], "volunteer": "ines",
                        "motivation": "Disponible tout mars"}
        # ines, the later volunteer, now sees the request, but not who offered before her nor his words
        first, ines = _done(s, instance_id, "apply"), as_user(s, "ines")
        assert permissions.can_see_task(s, ines, first)
        assert not visibility.answers_visible(first, ines, queries.instance_tasks(s, instance_id))
        assert "motivation" not in visibility.task_data(first, ines, queries.instance_tasks(s, instance_id))
        # nor the other way round: thomas, who offered first, reads the talk with ines without her in it
        steps = queries.instance_tasks(s, instance_id)
        talk = [t for t in steps if t.bpmn_id == "conversation" and t.status == "completed"][-1]
        thomas = as_user(s, "thomas")
        assert permissions.can_see_task(s, thomas, talk)
        assert not {"volunteer", "motivation"} & set(visibility.task_data(talk, thomas, steps))
        assert visibility.task_data(talk, as_user(s, "nadia"), steps)["volunteer"] == "ines"


def test_a_task_made_before_steps_declared_what_they_show_reads_its_diagram(deployed):
    instance_id = post_need(deployed)
    with unit_of_work(deployed) as s:
        apply = open_task(s, instance_id, "apply")
        assert visibility.SHOWS in apply.form  # kept with the task when it is created
        older = HumanTask(bpmn_id="apply", form={"fields": apply.form["fields"]}, instance=apply.instance)
        assert older.instance.process_key == KEY
        assert visibility.declared(older) == ["title", "description", "skills_wanted", "effort_days", "deadline"]
