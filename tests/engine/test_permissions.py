"""Who may do what, declared once in engine/permissions.py: the functions against a table written
from the rules, for every person of the demo organisation; and a check that no other module decides
by looking at roles itself."""
from __future__ import annotations

import ast
import inspect
from datetime import datetime, timezone

import pytest

from engine import cancel_instance, complete_task, find_user, permissions, start_instance, unit_of_work
from engine.models import HumanTask, Instance, ProcessVersion

from ..conftest import ROOT
from .helpers import REQUEST, deploy_approval, open_task

EVERYONE = ("claire", "luc", "ines", "antoine", "elodie", "sophie", "karim", "nadia", "marie", "lea", "julien",
            "thomas", "pierre", "hugo")

# --- the table ---------------------------------------------------------------------------------------

DEPLOYS = {"luc", "elodie"}                        # process_owner, admin
READS_AUDIT = {"antoine", "elodie"}                # auditor, admin
ADMINISTERS = {"elodie"}                           # admin
RETRIES_INCIDENTS = {"sophie", "karim", "elodie"}  # hr, admin
SEES_EVERY_REQUEST = {"sophie", "karim", "antoine", "elodie"}  # hr, auditor, admin
#: who may start a process, by its starter roles
STARTS = {
    ("agent",): set(EVERYONE),
    ("hr",): {"sophie", "karim"},
    ("project_lead", "manager"): {"claire", "luc", "sophie", "nadia", "julien"},
    ("host_referent",): {"hugo"},
}


@pytest.fixture
def people(db):
    return {name: find_user(db, name) for name in EVERYONE}


def holders(people, predicate) -> set[str]:
    return {name for name, user in people.items() if predicate(user)}


def test_deploy_audit_administer_incidents(people):
    assert holders(people, permissions.can_deploy) == DEPLOYS
    assert holders(people, permissions.can_read_audit) == READS_AUDIT
    assert holders(people, permissions.can_administer) == ADMINISTERS
    assert holders(people, permissions.can_retry_incidents) == RETRIES_INCIDENTS


@pytest.mark.parametrize("roles", list(STARTS), ids=",".join)
def test_start(people, roles):
    version = ProcessVersion(process_key="p", version=1, starter_roles=list(roles))
    assert holders(people, lambda user: permissions.can_start(user, version)) == STARTS[roles]


def test_nobody_inactive_may_start_or_act(people):
    lea = people["lea"]
    lea.active = False
    version = ProcessVersion(process_key="p", version=1, starter_roles=["agent"])
    assert not permissions.can_start(lea, version)
    assert not permissions.can_act(lea, task(assignee="lea"))


def task(status="ready", assignee=None, claimed=False, users=(), groups=(), excluded=()) -> HumanTask:
    return HumanTask(status=status, assignee=assignee, default_assignee=assignee if not claimed else None,
                     claimed=claimed, candidate_users=list(users), candidate_groups=list(groups),
                     excluded_users=list(excluded))


#: (the task, who may act on it, who may release it)
TASKS = {
    "assigned to julien": (task(assignee="julien"), {"julien"}, set()),
    "offered to the ethics group": (task(groups=["ethics"]), {"ines"}, set()),
    "offered to hr but not to karim": (task(groups=["hr"], excluded=["karim"]), {"sophie"}, set()),
    "offered to two people": (task(users=["nadia", "lea"]), {"nadia", "lea"}, set()),
    "claimed by karim from the hr group": (task(assignee="karim", claimed=True, groups=["hr"]), {"karim"},
                                           {"karim", "sophie", "elodie"}),
    "naming nobody": (task(), {"elodie"}, set()),
    "completed": (task(status="completed", assignee="julien"), set(), set()),
    "cancelled": (task(status="cancelled", groups=["hr"]), set(), set()),
}


@pytest.mark.parametrize("name", list(TASKS))
def test_act_and_release(people, name):
    row, acts, releases = TASKS[name]
    assert holders(people, lambda user: permissions.can_act(user, row)) == acts
    assert holders(people, lambda user: permissions.can_release(user, row)) == releases


def test_cancel(people):
    running = Instance(started_by="thomas", approved_at=None)
    approved = Instance(started_by="thomas", approved_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert holders(people, lambda user: permissions.can_cancel(user, running)) == {"thomas", "sophie", "karim", "elodie"}
    assert holders(people, lambda user: permissions.can_cancel(user, approved)) == {"sophie", "karim", "elodie"}


# --- who sees which request (one SQL query, on SQLite and PostgreSQL) ----------------------------

def test_who_sees_which_request(org_sessions):
    """thomas's request (waiting for julien, his manager), marie's (waiting for nadia, hers), lea's
    withdrawn one, and hugo's: each seen by its starter, whoever it waits or waited on, the line
    manager of its starter, and hr, auditor, admin. Not the manager's manager."""
    deploy_approval(org_sessions)
    ids = {}
    for starter, agent in (("thomas", "thomas"), ("marie", "marie"), ("lea", "lea"), ("hugo", "hugo")):
        with unit_of_work(org_sessions) as s:
            user = find_user(s, starter)
            instance = start_instance(s, "approval_test", user, {})
            complete_task(s, open_task(s, instance.id, "request").id, user, {**REQUEST, "agent": agent})
            ids[starter] = instance.id
    with unit_of_work(org_sessions) as s:
        cancel_instance(s, ids["lea"], find_user(s, "lea"), "changed my mind")
    expected = {
        "thomas": {"thomas", "julien"} | SEES_EVERY_REQUEST,
        "marie": {"marie", "nadia"} | SEES_EVERY_REQUEST,
        "lea": {"lea", "nadia"} | SEES_EVERY_REQUEST,
        "hugo": {"hugo", "elodie"} | SEES_EVERY_REQUEST,  # hugo has no manager: an administrator reviews
    }
    with org_sessions() as s:
        for starter, instance_id in ids.items():
            instance = s.get(Instance, instance_id)
            seers = {name for name in EVERYONE if permissions.can_see_instance(s, find_user(s, name), instance)}
            assert seers == expected[starter], starter
        for name in EVERYONE:
            listed = set(s.scalars(permissions.visible_instances(find_user(s, name)).with_only_columns(Instance.id)))
            assert listed == {ids[k] for k, seers in expected.items() if name in seers}, name


# --- declared once: nobody else decides by looking at roles --------------------------------------

PERMISSIONS_MODULE = ROOT / "engine" / "permissions.py"
# ("manager" and "agent" are also plain words: the names of data fields)
PRIVILEGED_ROLES = {"hr", "admin", "auditor", "process_owner", "coordinator", "dgs", "ethics", "host_referent",
                    "project_lead"}
#: modules that use roles as data without deciding access: labels shown to people, the people a form
#: field may name (a role it requires), the organisation loader, assignment (who is offered a task)
ROLES_AS_DATA = {"web/pages/labels.py", "web/pages/formview.py", "engine/org.py", "engine/assignment.py"}


def _modules():
    for folder in ("engine", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path != PERMISSIONS_MODULE and "migrations" not in path.parts:
                yield path


def test_roles_are_only_checked_in_engine_permissions():
    """No `has_role(...)`, no `role in user.roles`, and no privileged role name in code outside
    engine/permissions.py: every page and endpoint asks the same functions."""
    found = []
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "has_role" \
                    and name != "engine/models.py":
                found.append(f"{name}:{node.lineno} calls has_role")
            elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) \
                    and any(isinstance(c, ast.Attribute) and c.attr in ("roles", "all_roles") for c in node.comparators) \
                    and name.startswith("web/") and name not in ROLES_AS_DATA:
                found.append(f"{name}:{node.lineno} tests a role")
            elif isinstance(node, ast.Constant) and node.value in PRIVILEGED_ROLES and name not in ROLES_AS_DATA \
                    and name.startswith("web/"):
                found.append(f"{name}:{node.lineno} names the role {node.value!r}")
    assert found == []


#: endpoints open to anyone signed in (or to anyone): what they show is not anyone's request
OPEN_ENDPOINTS = {
    "static", "health.healthz", "api-docs.openapi_json", "auth.login", "auth.logout", "auth.language",
    "api_auth.create_token", "api_auth.delete_token", "api_me.get_me",
    # process definitions are no secret (checking files is for process owners: issue 13)
    "api_processes.list_all", "api_processes.get_one", "api_processes.get_bpmn",
}
#: what a view calls that checks access in the engine (each of these asks engine.permissions)
GUARDS = {"permissions", "get_instance", "get_task", "claim_task", "release_task", "complete_task",
          "cancel_instance", "start_instance"}
LISTS = {"tasks", "instances"}  # queries.tasks and queries.instances list what the person may see
REGISTER = {"missions", "export"}  # register.missions and register.export keep permissions.visible_missions


def _names(function) -> set[str]:
    """The global and attribute names a function's code uses, nested functions included (read from
    the code object, not the file, which may have changed since it was imported)."""
    function = inspect.unwrap(function)
    found, codes = set(), [function.__code__]
    while codes:
        code = codes.pop()
        found |= set(code.co_names)
        codes += [c for c in code.co_consts if inspect.iscode(c)]
    return found


def _guarded(names: set[str]) -> bool:
    return (bool(names & GUARDS) or ("queries" in names and bool(names & LISTS))
            or ("register" in names and bool(names & REGISTER))
            or "missions_download" in names)  # web/mission_export.py reads through register.export


def test_every_endpoint_on_requests_tasks_processes_or_audit_asks_the_engine():
    from web import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x" * 40, "AUTO_SETUP": False})
    unguarded = []
    for endpoint, view in app.view_functions.items():
        if endpoint in OPEN_ENDPOINTS:
            continue
        blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
        hooks = app.before_request_funcs.get(blueprint, [])
        if not any(_guarded(_names(f)) for f in (view, *hooks)):
            unguarded.append(endpoint)
    assert unguarded == []
    assert set(OPEN_ENDPOINTS) <= set(app.view_functions)  # the open list names real endpoints


def test_the_engine_checks_before_it_acts():
    """The engine's entry points that read or change a request or a task go through permissions."""
    from engine import runtime
    for function in (runtime.start_instance, runtime.complete_task, runtime.claim_task, runtime.release_task,
                     runtime.cancel_instance, runtime.get_instance, runtime.get_task):
        assert _names(function) & {"permissions", "_task_for_update", "_get_task", "get_instance"}, function.__name__
    assert {"permissions", "can_see_task"} <= _names(runtime._get_task)
    assert {"permissions", "can_act"} <= _names(runtime._task_for_update)


def test_everything_is_written_down_once():
    text = PERMISSIONS_MODULE.read_text(encoding="utf-8")
    functions = [n.name for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name.startswith("can_")]
    assert set(functions) >= {"can_start", "can_deploy", "can_read_audit", "can_administer", "can_cancel", "can_act",
                              "can_release", "can_see_instance", "can_see_task", "can_retry_incidents"}
    assert "engine/permissions.py" in (ROOT / "README.md").read_text(encoding="utf-8")  # the Security model
