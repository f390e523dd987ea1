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


def test_lists_split_outside_braces_in_one_pass():
    import time
    from engine.assignment import split_list
    assert split_list("hr, ${agent} ,${manager_of(agent)},, dgs") == ["hr", "${agent}", "${manager_of(agent)}", "dgs"]
    assert split_list("{a,b},c") == ["{a,b}", "c"]
    started = time.perf_counter()
    for hostile in ("," * 48_000, "${" * 24_000, "{" * 48_000 + ",x", "hr," * 16_000):
        split_list(hostile)
        is_valid_expression(hostile)
    assert time.perf_counter() - started < 1.0  # `,(?![^{]*\})` took minutes on such lists


def test_run_time_resolution_of_a_huge_list_is_linear():
    import time
    started = time.perf_counter()
    result = resolve({"camunda:candidateUsers": "lea," * 16_000 + "${agent}"}, None, {"agent": "thomas"}, {}, set())
    assert time.perf_counter() - started < 1.0
    assert result.candidate_users == ["lea", "thomas"]


def test_validation_and_run_time_read_the_same_grammar():
    from engine.assignment import Expression, parse_expression
    assert parse_expression("${ agent }") == Expression("agent")
    assert parse_expression("${manager_of( agent )}") == Expression("agent", "manager_of")
    for refused in ("${_secret}", "${a.b}", "${f(x, y)}", "${agent}x", "#{agent}", "agent"):
        assert parse_expression(refused) is None
    assert not is_valid_expression("#{agent}") and is_valid_expression("hr")
