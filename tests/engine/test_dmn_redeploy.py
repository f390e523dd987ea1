"""Changing a number in a DMN table and redeploying changes the behaviour of new instances only:
a running instance keeps the rules of the version it started on, even when a rework loop makes it
evaluate the table again."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import deploy, frozen_at, start_instance, unit_of_work
from engine.models import HumanTask, Instance
from engine.registry import PROCESSES_DIR, bundles_in

from .helpers import as_user, complete, edit

KEY = "temporary_support_mission"
DMN = "temporary_support_eligibility.dmn"
MISSION = {
    "title": "Appui au plan vélo", "project": "Plan vélo départemental", "objectives": "Animer les ateliers",
    "expertise_level": "beginner", "time_share": 35, "start_date": "2026-10-01", "end_date": "2027-03-31",
    "agent": "thomas", "is_project_support": True,
}
CEILING_30 = "La quotité ne peut pas dépasser 30 % du temps de travail."


@pytest.fixture(autouse=True)
def request_time():
    with frozen_at(datetime(2026, 9, 1, 9)):
        yield


def ceiling_lowered_to_30() -> dict[str, bytes]:
    """The shipped processes/temporary_support_mission bundle with the 40 % ceiling set to 30 %."""
    bundle = bundles_in(PROCESSES_DIR)[f"{KEY}/{KEY}.bpmn"]
    rule = '<inputEntry id="rule_share_too_high_in_time_share">\n          <text>&gt; {}</text>'
    bundle = edit(bundle, DMN, rule.format(40), rule.format(30))
    return edit(bundle, DMN, "ne peut pas dépasser 40 %", "ne peut pas dépasser 30 %")


def request(sessions) -> int:
    """nadia asks for thomas at 35 % of his time."""
    with unit_of_work(sessions) as s:
        instance_id = start_instance(s, KEY, as_user(s, "nadia")).id
    complete(sessions, instance_id, "describe_mission", "nadia", MISSION)
    return instance_id


def observed(sessions, instance_id: int) -> tuple[int, list[str], set[str]]:
    """(the version the instance runs, its eligibility problems, the tasks waiting)."""
    with unit_of_work(sessions) as s:
        instance = s.get(Instance, instance_id)
        waiting = {t.bpmn_id for t in s.query(HumanTask).filter_by(instance_id=instance_id, status="ready")}
        return instance.version.version, list(instance.data["eligibility_problems"]), waiting


def test_a_lowered_share_ceiling_applies_to_new_instances_only(deployed):
    before = request(deployed)
    assert observed(deployed, before) == (1, [], {"coordinator_review"})

    with unit_of_work(deployed) as s:
        deployment = deploy(s, ceiling_lowered_to_30(), "luc", "quotité maximale ramenée à 30 %")
        assert (deployment.created, deployment.version.version) == (True, 2)

    # the instance started on version 1 evaluates version 1's table again after a rework round-trip
    complete(deployed, before, "coordinator_review", "luc", {"decision": "rework", "comment": "Précisez"})
    complete(deployed, before, "describe_mission", "nadia", {**MISSION, "objectives": "Trois ateliers"})
    assert observed(deployed, before) == (1, [], {"coordinator_review"})

    after = request(deployed)
    assert observed(deployed, after) == (2, [CEILING_30], {"describe_mission"})
    complete(deployed, after, "describe_mission", "nadia", {**MISSION, "time_share": 30})
    assert observed(deployed, after) == (2, [], {"coordinator_review"})
