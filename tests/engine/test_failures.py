"""A request that stops says what went wrong, at which step of the diagram and, for a script, on
which line — as a code and its parameters, stored as JSON, that the pages say in their own language."""
from __future__ import annotations

import json

import pytest

from engine import Message, failure_of, stored_failure

from .test_sandbox import run_bounded, run_workflow


def failure_in(time_share=20, **kwargs) -> Message:
    outcome = run_bounded(lambda: run_workflow({"time_share": time_share, "start_date": "2026-01-01",
                                                "end_date": "2026-06-30"}, **kwargs))
    assert "error" in outcome, "the diagram was expected to fail"
    return failure_of(outcome["error"])


def test_a_script_error_names_the_step_the_line_and_its_code():
    failure = failure_in(script="problems = []\nshare = time_share / 0\nother = 1")
    assert failure.code == "failure.step_failed"
    error = failure.params.pop("error")
    assert error.startswith("ZeroDivisionError") and "division by zero" in error
    assert failure.params == {"step": "prepare", "bpmn_id": "prepare", "line": 2, "source": "share = time_share / 0"}


def test_code_refused_while_running_names_its_line_too():
    failure = failure_in(script="problems = []\nshare = 'x' * 10 ** 8")
    assert failure.code == "failure.forbidden_code" and failure.params["error"].code == "sandbox.refused"
    assert failure.params["error"].params["detail"].startswith("result too large")
    assert (failure.params["bpmn_id"], failure.params["line"], failure.params["source"]) == (
        "prepare", 2, "share = 'x' * 10 ** 8")


def test_a_failing_condition_names_its_gateway_without_a_line():
    failure = failure_in(time_share=35, condition="unknown_field > 3")  # a share the rules refuse
    assert failure.code == "failure.step_failed" and "unknown_field" in failure.params["error"]
    assert (failure.params["bpmn_id"], "line" in failure.params, "source" in failure.params) == (
        "gateway", False, False)


@pytest.mark.parametrize("failure", [
    Message("failure.step_failed", error="ZeroDivisionError:division by zero.", step="Diviser (« la part »)",
            bpmn_id="divide", line=3, source="a = b / (c - 2)"),
    Message("failure.forbidden_code", error="number too large", step="Calcul", bpmn_id="compute", line=1),
    Message("failure.step_failed", error=Message("value.not_storable", field="bad",
                                                 reason=Message("value.not_json", type="set")),
            step="Store", bpmn_id="store"),
    Message("failure.forbidden_code", error="evaluation exceeded"),
])
def test_a_failure_is_stored_as_json_and_read_back(failure):
    stored = failure.dumps()
    assert json.loads(stored)["code"] == failure.code
    assert stored_failure(stored) == failure
    assert stored_failure(failure.as_dict()) == failure  # as an instance_failed event holds it


def test_sentences_written_before_failures_had_codes_still_read():
    assert stored_failure("the process could not go on: RecursionError:maximum recursion depth exceeded") == \
        Message("failure.legacy", text="the process could not go on: RecursionError:maximum recursion depth exceeded")
    assert stored_failure(None) is None and stored_failure("") is None
