"""Real diagrams written by other projects run through the persisted engine."""
from __future__ import annotations

import pytest

from engine import complete_task, deploy, start_instance, unit_of_work, verify_audit
from engine.models import HumanTask, Instance

from ..conftest import CORPUS
from .helpers import as_user


def _bundle(*names: str) -> dict[str, bytes]:
    return {name: (CORPUS / name).read_bytes() for name in names}


#: start data is a form: the diagram's start event declares the `x` it starts with
_START_FORM = (b'<bpmn:startEvent id="StartEvent_1"><bpmn:extensionElements><camunda:formData>'
               b'<camunda:formField id="x" label="x" type="long" /></camunda:formData></bpmn:extensionElements>')


@pytest.mark.parametrize("x, expected", [(1, None), (2, None), (3, "A"), (6, "D")])
def test_spiff_gateway_with_decision_table(org_sessions, x, expected):
    bundle = _bundle("spiff-ExclusiveGatewayIfElseAndDecision.bpmn", "spiff-test_integer_decision.dmn")
    name = "spiff-ExclusiveGatewayIfElseAndDecision.bpmn"
    bundle[name] = bundle[name].replace(b'<bpmn:startEvent id="StartEvent_1">', _START_FORM, 1)
    with unit_of_work(org_sessions) as s:
        deploy(s, bundle, "luc")
    with unit_of_work(org_sessions) as s:
        instance = start_instance(s, "Process_1", as_user(s, "nadia"), {"x": x})
        assert (instance.status, instance.end_state) == ("completed", "completed")
        assert instance.data.get("y") == expected
        assert verify_audit(s, instance.id).ok


def test_spiff_lanes_without_assignment_are_offered_to_administrators(org_sessions):
    with unit_of_work(org_sessions) as s:
        deploy(s, _bundle("spiff-lanes.bpmn"), "luc")
    with unit_of_work(org_sessions) as s:
        instance_id = start_instance(s, "lanes", as_user(s, "nadia")).id
    with unit_of_work(org_sessions) as s:
        task = s.query(HumanTask).filter_by(instance_id=instance_id, status="ready").one()
        assert (task.bpmn_id, task.lane) == ("Activity_A1", "A")
        complete_task(s, task.id, as_user(s, "elodie"), {})
    with unit_of_work(org_sessions) as s:
        task = s.query(HumanTask).filter_by(instance_id=instance_id, status="ready").one()
        assert task.bpmn_id == "Activity_B1"
        assert s.get(Instance, instance_id).status == "running"
