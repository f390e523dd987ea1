"""Diagram code that would crash or freeze the server fails its own request instead, with its
reason and step: deep structures, aliased data, a long builtin call, unbounded timers
(tests/diagrams/sandbox_attacks.bpmn, one path per attack)."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import InvalidBundle, Message, deploy, frozen_at, start_instance, stored_failure, unit_of_work
from engine.incidents import incidents
from engine.mailer import SmtpSettings
from engine.models import Instance, Timer
from engine.sandbox import SandboxedEnvironment
from engine.sandbox.budget import GRACE, TIME_LIMIT
from engine.sandbox.cheap import is_cheap
from engine.timers import WorkerSettings, run_worker

from tests.support.smtp import smtp_server  # noqa: F401 - a fixture

from .helpers import DIAGRAMS, as_user, edit, open_task

BUNDLE = {name: (DIAGRAMS / name).read_bytes() for name in ("sandbox_attacks.bpmn", "sandbox_alias.dmn")}


@pytest.fixture
def attacks(org_sessions):
    with unit_of_work(org_sessions) as s:
        deploy(s, BUNDLE, "luc", "hostile code")
    return org_sessions


def attack(sessions, kind: str, wait_for: str = "R3/P1D") -> Instance:
    with unit_of_work(sessions) as s:
        instance = start_instance(s, "sandbox_attacks", as_user(s, "thomas"),
                                  {"title": f"Attack {kind}", "attack": kind, "wait_for": wait_for})
        s.expunge(instance)
        return instance


def failure_of(instance: Instance) -> Message:
    assert instance.status == "failed", f"the request was expected to fail, it is {instance.status}"
    failure = stored_failure(instance.failure)
    assert failure.code != "failure.legacy", instance.failure
    return failure


def assert_still_serving(sessions) -> None:
    """The next request runs its script and waits for its reviewer: nothing was harmed."""
    instance = attack(sessions, "none")
    assert instance.status == "running"
    assert instance.data["words"] == ["ATTACK", "NONE"]


@pytest.mark.parametrize("kind, step", [("deep_script", "build_tuples"), ("deep_condition", "deep_gateway")])
def test_hashing_240000_nested_tuples_fails_the_request_not_the_server(attacks, kind, step):
    failure = failure_of(attack(attacks, kind))
    assert failure.code == "failure.forbidden_code"
    assert failure.params["error"].code == "sandbox.crashed"  # its words: "the code stopped its sandbox (...)"
    assert failure.params["error"].params["detail"].startswith("killed by SIGSEGV")
    assert failure.params["bpmn_id"] == step
    assert_still_serving(attacks)


@pytest.mark.parametrize("kind, step, name", [("alias_script", "alias", "'copies'"), ("alias_dmn", "alias_rule", "the result")])
def test_a_string_repeated_a_thousand_times_counts_at_its_real_size(attacks, kind, step, name):
    started = time.monotonic()
    failure = failure_of(attack(attacks, kind))
    assert failure.code == "failure.forbidden_code"
    assert failure.params["error"] == Message("sandbox.refused",
                                              detail=f"result too large: {name} is more than 1000000 bytes of data")
    assert failure.params["bpmn_id"] == step
    assert time.monotonic() - started < 5
    assert_still_serving(attacks)


def test_one_long_builtin_call_is_stopped_at_the_time_limit(attacks):
    started = time.monotonic()
    failure = failure_of(attack(attacks, "builtin"))
    elapsed = time.monotonic() - started
    assert failure.code == "failure.forbidden_code" and failure.params["error"] == \
        Message("sandbox.too_slow", seconds=f"{TIME_LIMIT:g}")
    assert (failure.params["step"], failure.params["bpmn_id"]) == ("Compare", "compare")
    assert elapsed < TIME_LIMIT + GRACE + 2  # the call alone would take many seconds
    assert_still_serving(attacks)


@pytest.mark.parametrize("old, new, reason", [
    ('"P1D"', '"P99999999Y"', "timer 'P99999999Y' refused: it lies beyond the horizon of 3653 days"),
    ("<bpmn:timeCycle xsi:type=\"bpmn:tFormalExpression\">wait_for", "<bpmn:timeCycle xsi:type=\"bpmn:tFormalExpression\">'R/PT0S'",
     "timer 'R/PT0S' refused: its interval is zero: it would fire again at once, without end"),
    ('"P1D"', '"P"', "timer 'P' refused: not an ISO 8601 duration such as P5D or PT12H"),
])
def test_constant_timers_that_never_end_or_never_stop_are_refused_at_deploy(org_sessions, old, new, reason):
    bundle = edit(BUNDLE, "sandbox_attacks.bpmn", old, new)
    with pytest.raises(InvalidBundle) as refused, unit_of_work(org_sessions) as s:
        deploy(s, bundle, "luc", "unbounded timer")
    assert [(p.file, p.element, p.code, p.params["reason"]) for p in refused.value.problems] == [
        ("sandbox_attacks.bpmn", "wait_a_day" if old == '"P1D"' else "reminder", "code.timer", reason)]


@pytest.mark.parametrize("kind, wait_for, step, reason", [
    ("duration", "P99999999Y", "wait_duration", "it lies beyond the horizon of 3653 days"),
    ("cycle", "R/PT0S", "reminder", "its interval is zero: it would fire again at once, without end"),
    ("cycle", "R/PT1S", "reminder", "it repeats without end more often than every 60 seconds"),
    ("cycle", "R0/P1D", "reminder", "it repeats zero times: it would never fire"),
])
def test_timers_computed_from_data_are_bounded_when_computed(attacks, kind, wait_for, step, reason):
    started = time.monotonic()
    failure = failure_of(attack(attacks, kind, wait_for))
    assert failure.code == "failure.step_failed"
    assert failure.params["error"] == f"timer '{wait_for}' refused: {reason}."
    assert failure.params["bpmn_id"] == step
    assert time.monotonic() - started < 5


def test_a_bounded_cycle_waits_as_before(attacks):
    instance = attack(attacks, "cycle", "R3/P1D")
    assert instance.status == "running"
    with unit_of_work(attacks) as s:
        assert open_task(s, instance.id, "wait_here")
        (timer,) = s.scalars(select(Timer).where(Timer.instance_id == instance.id)).all()
        assert timer.bpmn_id == "reminder" and timer.status == "waiting"


def test_a_crash_behind_a_timer_is_an_attempt_then_an_incident_and_the_worker_lives_on(attacks, smtp_server):
    settings = WorkerSettings(smtp=SmtpSettings(host="127.0.0.1", port=smtp_server.port), max_attempts=2,
                              backoff_seconds=60, reminder_hours=0)
    instance = attack(attacks, "later")
    assert instance.status == "running"
    due = instance.started_at + timedelta(days=1, minutes=1)
    assert run_worker(attacks, settings, once=True, now=due).timers_failed == 1
    with unit_of_work(attacks) as s:
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance.id)).one()
        assert (timer.status, timer.attempts) == ("waiting", 1)
        assert "evaluation crashed its sandbox process (killed by SIGSEGV)" in timer.last_error
    assert run_worker(attacks, settings, once=True, now=due + timedelta(seconds=61)).timers_failed == 1
    with unit_of_work(attacks) as s:
        (incident,) = incidents(s, instance.id)
        assert (incident.what, incident.attempts) == ("wait_a_day", 2)
        assert s.get(Instance, instance.id).status == "running"  # waiting for someone to look
    assert_still_serving(attacks)


# --- the rule of the fast path, and engine functions in a sandbox process -------------------------

@pytest.mark.parametrize("expression", [
    "decision == 'approve'", "dmninputexpr > 40", "not dmninputexpr", "dmninputexpr not in ['a', 'b']",
    "months_between(start_date, end_date)", "agent_committed_share + time_share",
    "\"L'agent consacre déjà \" + str(share) + \" %\"", "? is not None".replace("?", "dmninputexpr"),
    "len(problems) == 0", "options['x'] if options else None", "date(start).year", "'P5D'",
])
def test_cheap_expressions_are_evaluated_in_the_server(expression):
    assert is_cheap(expression)


@pytest.mark.parametrize("expression", [
    "[t for t in x]", "max(x)", "x * 2", "'a'.join(x)", "x[1:]", "(lambda: 1)()", "manager_of(agent)",
    "sorted(x)", "len(x, *y)", " and ".join(["x"] * 40),
])
def test_everything_else_goes_to_a_sandbox_process(expression):
    assert not is_cheap(expression)


def test_engine_functions_are_called_in_the_server_for_a_sandbox_process():
    calls = []

    def manager_of(username):
        calls.append(username)
        return f"boss-of-{username}"

    env = SandboxedEnvironment({"manager_of": manager_of})
    data = {"agent": "ana", "other": "untouched", "items": [1]}
    env.execute("boss = manager_of(agent)\nitems.append(len(boss))\ndel other", data)
    assert data == {"agent": "ana", "items": [1, 11], "boss": "boss-of-ana"}
    assert calls == ["ana"]
