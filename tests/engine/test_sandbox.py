"""The sandbox: date helpers, refusals of the classic escapes, bounds, and SpiffWorkflow wiring."""
from __future__ import annotations

import threading
from datetime import date as Date, datetime

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.util.task import TaskState

from engine import sandbox
from engine.clock import frozen_at
from engine.errors import ForbiddenCode
from engine.sandbox import SandboxedEnvironment, check_code, find_forbidden, make_script_engine

from .helpers import DIAGRAMS


def run_bounded(function):
    """Run `function` in another thread (as gunicorn would) and insist that it finishes."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "the sandbox let the code run on"
    return outcome


@pytest.fixture
def env():
    return SandboxedEnvironment()


# --- helpers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, months", [
    ("2026-01-01", "2027-12-31", 24),
    ("2026-01-01", "2028-01-01", 25),
    ("2026-01-01", "2026-01-01", 1),
    ("2026-01-15", "2026-02-14", 1),
    ("2026-01-15", "2026-02-15", 2),
    ("2026-01-31", "2026-02-27", 1),
    ("2026-01-31", "2026-02-28", 2),   # add_months(01-31, 1) is 02-28
    ("2026-03-15", "2026-03-14", 0),   # the day before: nothing
    ("2026-03-15", "2026-01-10", -2),  # further back: negative
])
def test_months_between_is_the_smallest_n_with_end_before_start_plus_n_months(start, end, months):
    assert sandbox.months_between(start, end) == months
    assert end < sandbox.add_months(start, months)
    assert not end < sandbox.add_months(start, months - 1)


@pytest.mark.parametrize("day, n, expected", [
    ("2026-01-31", 1, "2026-02-28"),
    ("2028-01-31", 1, "2028-02-29"),
    ("2026-03-31", -1, "2026-02-28"),
    ("2026-08-31", 1, "2026-09-30"),
    ("2026-11-15", 3, "2027-02-15"),
    ("2026-05-10", -17, "2024-12-10"),
])
def test_add_months_clamps_to_the_end_of_the_month(day, n, expected):
    assert sandbox.add_months(day, n) == expected


def test_midpoint_days_and_dates():
    assert sandbox.midpoint("2026-01-01", "2026-01-03") == "2026-01-02"
    assert sandbox.midpoint("2026-01-01", "2026-01-04") == "2026-01-02"
    assert sandbox.midpoint("2026-01-01", "2026-12-31") == "2026-07-02"  # day 183 of 365
    assert sandbox.days_between("2026-01-01", "2026-03-01") == 59
    assert sandbox.days_between("2026-03-01", "2026-01-01") == -59
    assert sandbox.add_days("2026-12-31", 1) == "2027-01-01"
    assert sandbox.date("2026-02-03") == Date(2026, 2, 3)
    assert sandbox.date("2026-02-03T10:20:00+00:00") == Date(2026, 2, 3)


def test_helpers_accept_date_objects():
    assert sandbox.months_between(Date(2026, 1, 1), datetime(2027, 12, 31, 23, 0)) == 24
    assert sandbox.add_days(Date(2026, 1, 1), 30) == "2026-01-31"
    assert sandbox.midpoint(Date(2026, 1, 1), "2026-01-03") == "2026-01-02"


def test_helpers_refuse_what_is_not_a_date_or_a_whole_number():
    with pytest.raises(TypeError):
        sandbox.add_days("2026-01-01", 1.5)
    with pytest.raises(TypeError):
        sandbox.date(20260101)
    with pytest.raises(ValueError):
        sandbox.date("tomorrow")


def test_today_reads_the_injectable_clock(env):
    with frozen_at(datetime(2026, 5, 17, 9, 30)):
        assert sandbox.today() == "2026-05-17"
        # in diagram code `today` is both the value (as DMN cells use it) and the function
        assert env.evaluate("today == '2026-05-17' and today() == '2026-05-17'", {}) is True
        assert env.evaluate("today", {}) == "2026-05-17"
        assert type(env.evaluate("today", {})) is str
        assert env.evaluate("add_days(today(), 1)", {"today": "2026-05-17"}) == "2026-05-18"


# --- refusals -------------------------------------------------------------------------------------

ESCAPES = [
    ("eval", "().__class__.__bases__[0].__subclasses__()", "names starting with '_' are not allowed"),
    ("exec", "import os", "imports are not allowed"),
    ("exec", "from os import system", "imports are not allowed"),
    ("eval", "__import__('os')", "names starting with '_' are not allowed: __import__"),
    ("eval", "getattr(x, '__class__')", "getattr() is not allowed"),
    ("eval", "[].__class__", "names starting with '_' are not allowed: __class__"),
    ("eval", "(lambda: 1).__globals__", "names starting with '_' are not allowed: __globals__"),
    ("eval", "open('/etc/passwd')", "open() is not allowed"),
    ("eval", "eval('1')", "eval() is not allowed"),
    ("eval", "exec('x=1')", "exec() is not allowed"),
    ("eval", "type(1)", "type() is not allowed"),
    ("exec", "while True: pass", "evaluation exceeded"),
    ("exec", "for i in range(10**9): pass", "range() too large"),
    ("eval", "10**10**10", "number too large"),
    ("eval", "'a' * 10**9", "result too large"),
    ("eval", "[0] * 10**9", "result too large"),
    ("eval", "(x for x in ()).gi_frame", "attribute 'gi_frame' is not allowed"),
    # and a few more of the same families
    ("eval", "'{0.__class__}'.format(1)", "attribute 'format' is not allowed"),
    ("eval", "'{}'.format(1)", "attribute 'format' is not allowed"),
    ("eval", "str.mro()", "attribute 'mro' is not allowed"),
    ("eval", "x.real", "attribute 'real' is not allowed"),
    ("eval", "1 << 10**9", "number too large"),
    ("eval", "round(5, -10**9)", "round() to more than 100 digits"),
    ("eval", "'%9999999d' % 1", "format widths above 999"),
    ("eval", "f'{x:>99999999}'", "format widths above 999"),
    ("eval", "items.append(1)", "expressions may not change data"),
    ("eval", "(lambda f: f(f, 60))(lambda g, n: g(g, n - 1) + g(g, n - 1) if n else 1)", "evaluation exceeded"),
    ("exec", "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nescaped = f(60)", "evaluation exceeded"),
    ("exec", "s = 'ab'\nfor i in range(40):\n    s = s + s", "result too large"),
    ("exec", "s = 'ab'\nfor i in range(40):\n    s *= 2", "result too large"),
    ("exec", "n = 3\nfor i in range(40):\n    n = n * n", "number too large"),
    ("exec", "s = 'a' * 1000\nfor i in range(10):\n    s = s.replace('a', s)", "result too large"),
    ("exec", "l = [1]\nfor i in range(40):\n    l.extend(l)", "result too large"),
    ("exec", "d = {}\nfor i in range(60000):\n    d[i] = i\nfor i in range(60000):\n    d[-i - 1] = i",
     "result too large"),
    ("exec", "for i in range(20):\n    x = list(range(90000))", "evaluation built more than"),
    ("exec", "try:\n    x = 10**10**10\nexcept Exception:\n    pass", "try/except is not allowed"),
    ("exec", "class Escape: pass", "class definitions are not allowed"),
    ("exec", "x.attribute = 1", "changing attributes is not allowed"),
    ("exec", "g = (n for n in items)", "'g' holds a generator"),
]


@pytest.mark.parametrize("mode, code, reason", ESCAPES, ids=[code for _, code, _ in ESCAPES])
def test_classic_escapes_are_refused_quickly_and_change_nothing(env, mode, code, reason):
    data = {"x": 1, "items": [1, 2]}
    before = {"x": 1, "items": [1, 2]}
    if mode == "eval":
        outcome = run_bounded(lambda: env.evaluate(code, data))
    else:
        outcome = run_bounded(lambda: env.execute(code, data))
    error = outcome.get("error")
    assert isinstance(error, ForbiddenCode), outcome
    assert reason in error.message
    assert data == before  # nothing assigned, nothing leaked
    assert env.evaluate("1 + x", data) == 2  # and the sandbox keeps working


def test_refusals_found_at_compile_time_are_reported_by_check_code():
    assert check_code("import os", "exec") == "imports are not allowed (line 1)"
    assert check_code("x = 1\nimport os", "exec") == "imports are not allowed (line 2)"
    assert check_code("[].__class__", "eval") == "names starting with '_' are not allowed: __class__"
    assert check_code("x = 1", "eval").startswith("syntax error")
    assert check_code("decision == 'approve'", "eval") is None
    assert check_code("\n  agent = started_by\n", "exec") is None
    with pytest.raises(ValueError):
        check_code("1", "single")


def test_the_time_limit_holds_when_every_step_is_slow():
    slow = SandboxedEnvironment(time_limit=0.05)
    outcome = run_bounded(lambda: slow.execute(
        "big = list(range(20000))\nfor i in range(100000):\n    c = big.count(7)", {}))
    assert isinstance(outcome.get("error"), ForbiddenCode)
    assert outcome["error"].message == "evaluation exceeded 0.05 s"
    assert outcome["error"].line == 2  # the loop that ran out of time


def test_runtime_refusals_carry_the_line_of_the_script(env):
    with pytest.raises(ForbiddenCode) as refused:
        env.execute("a = 1\nb = 2\nc = 'x' * 10**9", {})
    assert refused.value.line == 3


# --- what diagrams legitimately do ----------------------------------------------------------------

@pytest.mark.parametrize("expression, data, expected", [
    ("time_share <= 40 and agent != started_by", {"time_share": 30, "agent": "ana", "started_by": "bob"}, True),
    ("time_share <= 40 and agent != started_by", {"time_share": 30, "agent": "ana", "started_by": "ana"}, False),
    ("len(eligibility_problems) == 0", {"eligibility_problems": []}, True),
    ("[p.upper() for p in problems if p]", {"problems": ["a", "", "b"]}, ["A", "B"]),
    ("{'total': sum(values), 'top': max(values)}", {"values": [3, 9, 4]}, {"total": 16, "top": 9}),
    ("months_between(start_date, end_date) > 18", {"start_date": "2026-01-01", "end_date": "2027-12-31"}, True),
    ("midpoint(start_date, end_date)", {"start_date": "2026-01-01", "end_date": "2026-01-31"}, "2026-01-16"),
    ("'Déjà ' + str(share) + ' %'", {"share": 30}, "Déjà 30 %"),
    ("f'{share:>4}%'", {"share": 30}, "  30%"),
    ("sorted(names, key=lambda n: n.lower())", {"names": ["b", "A"]}, ["A", "b"]),
    ("isinstance(share, int) and str(share).isdigit()", {"share": 7}, True),
    ("date(start).year", {"start": "2026-04-01"}, 2026),
    ("decision in ('approve', 'rework')", {"decision": "rework"}, True),
    ("options.get('x', 0) + len(options.keys())", {"options": {"x": 2}}, 3),
    ("', '.join(n.strip().title() for n in names.split(','))", {"names": "ana, bob"}, "Ana, Bob"),
    ("label.replace('_', ' ')", {"label": "no_go"}, "no go"),
    ("list(range(3)) + [len(tuple(x)), len(set(x)), len(dict(a=1))]", {"x": [1, 1]}, [0, 1, 2, 2, 1, 1]),
])
def test_legitimate_expressions(env, expression, data, expected):
    assert env.evaluate(expression, data) == expected


def test_scripts_update_the_data_with_what_they_assign_and_nothing_else(env):
    data = {"started_by": "ana", "old": 1, "nested": {"a": 1}, "_internal": "kept"}
    env.execute("agent = started_by\n"
                "problems = [p for p in ['x', 'y'] if p != 'y']\n"
                "summary = {'agent': agent, 'count': len(problems)}\n"
                "nested['b'] = 2\n"
                "def helper(v):\n    return v * 2\n"
                "doubled = helper(21)\n"
                "counter = 0\n"
                "while counter < 3:\n    counter += 1\n"
                "print('ignored')\n"
                "del old\n", data)
    assert data == {"started_by": "ana", "nested": {"a": 1, "b": 2}, "_internal": "kept", "agent": "ana",
                    "problems": ["x"], "summary": {"agent": "ana", "count": 1}, "doubled": 42, "counter": 3}


def test_scripts_do_not_leak_helpers_builtins_or_the_external_context(env):
    data: dict = {}
    env.execute("x = len([1, 2])\ny = today", data, external_context={"dmninputexpr": 5})
    assert set(data) == {"x", "y"}
    assert type(data["y"]) is str
    assert env.evaluate("dmninputexpr + 1", {}, external_context={"dmninputexpr": 5}) == 6


def test_task_data_shadows_a_helper_of_the_same_name(env):
    assert env.evaluate("date", {"date": "2026-01-01"}) == "2026-01-01"


def test_engine_functions_are_callable_and_must_be_well_named():
    env = SandboxedEnvironment({"manager_of": lambda user: f"boss-of-{user}"})
    assert env.evaluate("manager_of(agent)", {"agent": "ana"}) == "boss-of-ana"
    with pytest.raises(ValueError):
        SandboxedEnvironment({"_secret": len})


def test_syntax_errors_are_syntax_errors_not_refusals(env):
    with pytest.raises(SyntaxError):
        env.evaluate("decision ==", {})


# --- through SpiffWorkflow ------------------------------------------------------------------------

BPMN = (DIAGRAMS / "sandbox_sample.bpmn").read_text(encoding="utf-8")
DMN = (DIAGRAMS / "sandbox_sample.dmn").read_text(encoding="utf-8")


def run_workflow(data, script="problems = []\nshare = time_share + 10", condition="len(problems) > 0"):
    parser = CamundaParser()
    parser.add_dmn_str(DMN.encode())
    parser.add_bpmn_str(BPMN.replace("SCRIPT", script).replace("CONDITION", condition).encode())
    workflow = BpmnWorkflow(parser.get_spec("sample"), script_engine=make_script_engine())
    workflow.task_tree.data.update(data)
    workflow.do_engine_steps()
    return workflow


def end_reached(workflow) -> str:
    (end,) = [t.task_spec.name for t in workflow.get_tasks(state=TaskState.COMPLETED)
              if t.task_spec.name in ("accepted", "refused")]
    return end


def test_scripts_conditions_and_dmn_cells_run_in_the_sandbox():
    ok = run_workflow({"time_share": 20, "start_date": "2026-01-01", "end_date": "2026-06-30"})
    assert ok.is_completed()
    assert ok.last_task.data["problems"] == [] and ok.last_task.data["share"] == 30
    assert end_reached(ok) == "accepted"

    refused = run_workflow({"time_share": 35, "start_date": "2026-01-01", "end_date": "2026-01-01"})
    assert refused.is_completed()
    assert end_reached(refused) == "refused"
    assert refused.last_task.data["problems"] == ["more than 40 %", "end before start"]


def test_forbidden_script_surfaces_through_do_engine_steps():
    outcome = run_bounded(lambda: run_workflow({"time_share": 20}, script="import os\nos.system('id')"))
    error = outcome.get("error")
    assert error is not None and not isinstance(error, ForbiddenCode)  # SpiffWorkflow wraps it...
    forbidden = find_forbidden(error)  # ...and find_forbidden unwraps it
    assert isinstance(forbidden, ForbiddenCode)
    assert forbidden.message == "imports are not allowed"
    assert forbidden.line == 1


def test_forbidden_condition_surfaces_through_do_engine_steps():
    outcome = run_bounded(lambda: run_workflow(
        {"time_share": 35, "start_date": "2026-01-01", "end_date": "2026-06-30"},
        condition="().__class__.__bases__[0].__subclasses__()"))
    forbidden = find_forbidden(outcome.get("error"))
    assert isinstance(forbidden, ForbiddenCode)
    assert "__subclasses__" in forbidden.message


def test_find_forbidden_walks_causes_contexts_and_exception_attributes():
    refusal = ForbiddenCode("imports are not allowed", 1)
    wrapped = RuntimeError("outer")
    wrapped.__context__ = ValueError("middle")
    wrapped.__context__.exception = refusal
    assert find_forbidden(wrapped) is refusal
    assert find_forbidden(RuntimeError("unrelated")) is None
    assert find_forbidden(None) is None
