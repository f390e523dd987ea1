"""A request that stops says what went wrong, at which step of the diagram and, for a script, on
which line — in a sentence the pages can split again to say it in their own language."""
from __future__ import annotations

import pytest

from engine import Failure

from .test_sandbox import run_bounded, run_workflow


def failure_of(time_share=20, **kwargs) -> Failure:
    outcome = run_bounded(lambda: run_workflow({"time_share": time_share, "start_date": "2026-01-01",
                                                "end_date": "2026-06-30"}, **kwargs))
    assert "error" in outcome, "the diagram was expected to fail"
    return Failure.of(outcome["error"])


def test_a_script_error_names_the_step_the_line_and_its_code():
    failure = failure_of(script="problems = []\nshare = time_share / 0\nother = 1")
    assert not failure.forbidden
    assert failure.detail.startswith("ZeroDivisionError") and "division by zero" in failure.detail
    assert (failure.step, failure.bpmn_id, failure.line, failure.code) == (
        "prepare", "prepare", 2, "share = time_share / 0")
    assert str(failure).startswith("the process could not go on: ZeroDivisionError")
    assert str(failure).endswith(" — step «prepare» (prepare), line 2: share = time_share / 0")


def test_code_refused_while_running_names_its_line_too():
    failure = failure_of(script="problems = []\nshare = 'x' * 10 ** 8")
    assert failure.forbidden and failure.detail.startswith("result too large")
    assert (failure.bpmn_id, failure.line, failure.code) == ("prepare", 2, "share = 'x' * 10 ** 8")
    assert str(failure).startswith("forbidden code in the diagram: result too large")


def test_a_failing_condition_names_its_gateway_without_a_line():
    failure = failure_of(time_share=35, condition="unknown_field > 3")  # a share the rules refuse
    assert not failure.forbidden and "unknown_field" in failure.detail
    assert (failure.bpmn_id, failure.line, failure.code) == ("gateway", None, None)
    assert str(failure).endswith(" — step «gateway» (gateway)")


@pytest.mark.parametrize("failure", [
    Failure(False, "ZeroDivisionError:division by zero.", "Diviser (« la part »)", "divide", 3, "a = b / (c - 2)"),
    Failure(True, "number too large", "Calcul", "compute", 1, None),
    Failure(False, "KeyError: 'x'", "Étape", "step_1"),
    Failure(True, "evaluation exceeded"),
])
def test_the_sentence_splits_back_into_its_parts(failure):
    assert Failure.parse(str(failure)) == failure


def test_sentences_written_before_steps_were_named_still_read():
    assert Failure.parse("the process could not go on: RecursionError:maximum recursion depth exceeded") == \
        Failure(False, "RecursionError:maximum recursion depth exceeded")
    assert Failure.parse("something else entirely") is None
