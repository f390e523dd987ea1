"""Assignment expressions from Camunda Modeler's fields."""
from __future__ import annotations

from engine.assignment import is_valid_expression, resolve

ROLES = {"hr", "coordinator", "dgs", "agent"}
FUNCTIONS = {"manager_of": lambda u: {"thomas": "julien"}.get(u), "host_referents": lambda o: ["hugo", "eve"]}


def test_assignee_from_data_and_manager_of():
    data = {"agent": "thomas"}
    assert resolve({"camunda:assignee": "${agent}"}, None, data, FUNCTIONS, ROLES).assignee == "thomas"
    assert resolve({"camunda:assignee": "${manager_of(agent)}"}, None, data, FUNCTIONS, ROLES).assignee == "julien"


def test_candidates_lists_literals_and_functions():
    result = resolve({"camunda:candidateUsers": "alice, ${host_referents(host)}", "camunda:candidateGroups": "hr,dgs",
                      "exclude_users": "${started_by}"}, "HR", {"host": "o", "started_by": "nadia"}, FUNCTIONS, ROLES)
    assert result.candidate_users == ["alice", "hugo", "eve"]
    assert result.candidate_groups == ["hr", "dgs"]
    assert result.excluded_users == ["nadia"]


def test_lane_names_the_role_when_no_assignment_is_given():
    assert resolve({}, "Coordinator", {}, FUNCTIONS, ROLES).candidate_groups == ["coordinator"]
    assert resolve({}, "Project lead", {}, FUNCTIONS, ROLES).candidate_groups == []


def test_unset_data_gives_no_candidate():
    assert resolve({"camunda:candidateGroups": "${escalation_group}", "camunda:assignee": "${manager_of(volunteer)}"},
                   None, {}, FUNCTIONS, ROLES).candidate_groups == []


def test_only_simple_expressions_are_valid():
    assert is_valid_expression("${agent}") and is_valid_expression("hr, ${manager_of(agent)}")
    assert not is_valid_expression("${__import__('os')}")
    assert not is_valid_expression("${a.b}")
