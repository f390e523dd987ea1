"""An instance that goes round a loop many times: the engine forgets the history SpiffWorkflow no
longer needs (its saved state stops growing) and keeps live workflows between steps — neither may
change what the process does, what the diagram shows or what the audit trail says."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine import complete_task, deploy, queries, start_instance, unit_of_work, verify_audit, workflow_cache
from engine.lru import Lru
from engine.models import AuditEvent, HumanTask, Instance, Timer

from .helpers import DIAGRAMS, as_user, complete, open_task

ROUNDS = 8


@pytest.fixture
def loop(org_sessions):
    with unit_of_work(org_sessions) as s:
        deploy(s, {"history_loop.bpmn": (DIAGRAMS / "history_loop.bpmn").read_bytes()}, "luc", "test")
    return org_sessions


@pytest.fixture(params=["cache", "no cache"])
def cache_mode(request, monkeypatch):
    """Every behaviour holds whether the next step finds its workflow live or rebuilds it."""
    size = workflow_cache.DEFAULT_SIZE if request.param == "cache" else 0
    monkeypatch.setattr(workflow_cache, "cache", Lru(size))
    return request.param


def start(sessions) -> int:
    with unit_of_work(sessions) as s:
        return start_instance(s, "history_loop", as_user(s, "thomas"), {"title": "Loop"}).id


def open_ids(sessions, instance_id: int) -> set[str]:
    with unit_of_work(sessions) as s:
        return set(s.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.status == "ready")))


def one_round(sessions, instance_id: int, decision: str) -> None:
    complete(sessions, instance_id, "consent_a", "thomas", {"note_a": "ok"})
    assert open_ids(sessions, instance_id) == {"consent_b"}, "the join waits for the other consent"
    complete(sessions, instance_id, "consent_b", "luc", {"note_b": "ok"})
    assert open_ids(sessions, instance_id) == {"review"}
    complete(sessions, instance_id, "review", "luc", {"decision": decision})


def state_size(sessions, instance_id: int) -> int:
    with unit_of_work(sessions) as s:
        return s.scalar(select(func.length(Instance.state)).where(Instance.id == instance_id))


def test_a_long_history_runs_like_a_short_one_and_its_state_stops_growing(loop, cache_mode):
    instance_id = start(loop)
    one_round(loop, instance_id, "rework")
    after_one = state_size(loop, instance_id)
    for _ in range(ROUNDS - 1):
        one_round(loop, instance_id, "rework")
        with unit_of_work(loop) as s:
            waiting = s.scalars(select(Timer.bpmn_id).where(Timer.instance_id == instance_id,
                                                             Timer.status == "waiting")).all()
        assert waiting == ["deadline"], "one deadline waits, the earlier rounds' ones were cancelled"
    assert state_size(loop, instance_id) < 1.3 * after_one  # unpruned, it grows ~ROUNDS-fold

    one_round(loop, instance_id, "approve")
    with unit_of_work(loop) as s:
        instance = s.get(Instance, instance_id)
        assert (instance.status, instance.end_state) == ("completed", "completed")
        completed = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.instance_id == instance_id, AuditEvent.type == "task_completed"))
        assert completed == 3 * (ROUNDS + 1)
        state = queries.diagram_state(instance)
        # the start of the path was forgotten by the engine long ago, yet the diagram shows it taken
        assert {"start", "merge", "split", "consent_a", "consent_b", "join", "review", "gw_review",
                "end_done"} <= state.completed
        assert "end_late" not in state.completed and not state.waiting
        assert verify_audit(s, instance_id).ok


def test_a_rolled_back_step_leaves_nothing_behind(loop, cache_mode):
    instance_id = start(loop)
    with pytest.raises(RuntimeError):
        with unit_of_work(loop) as s:
            complete_task(s, open_task(s, instance_id, "consent_a").id, as_user(s, "thomas"), {"note_a": "x"})
            raise RuntimeError("the request failed after the engine's work")
    assert open_ids(loop, instance_id) == {"consent_a", "consent_b"}
    complete(loop, instance_id, "consent_a", "thomas", {"note_a": "again"})  # no "no longer waiting"
    assert open_ids(loop, instance_id) == {"consent_b"}
    with unit_of_work(loop) as s:
        assert s.get(Instance, instance_id).data["note_a"] == "again"


def test_a_step_taken_by_another_process_is_never_hidden_by_a_live_copy(loop, monkeypatch):
    """Two server processes, each with its own cache, take turns on one instance."""
    first, second = Lru(workflow_cache.DEFAULT_SIZE), Lru(workflow_cache.DEFAULT_SIZE)
    instance_id = start(loop)
    monkeypatch.setattr(workflow_cache, "cache", first)
    complete(loop, instance_id, "consent_a", "thomas", {"note_a": "first"})
    assert len(first) == 1
    monkeypatch.setattr(workflow_cache, "cache", second)
    complete(loop, instance_id, "consent_b", "luc", {"note_b": "second"})
    monkeypatch.setattr(workflow_cache, "cache", first)  # its copy predates consent_b: unusable
    complete(loop, instance_id, "review", "luc", {"decision": "rework"})
    assert open_ids(loop, instance_id) == {"consent_a", "consent_b"}
