"""How many SQL statements one task completion issues: a budget, so that a change that adds
queries to every completion (a lazy load, a query per row, an extra flush) fails here, not in
production. Each budget is what the engine needs today plus a little headroom."""
from __future__ import annotations

import contextlib

from sqlalchemy import event

from engine import complete_task, start_instance, unit_of_work

from .helpers import REQUEST, as_user, deploy_approval, open_task


@contextlib.contextmanager
def counting(sessions):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):  # SQLite's explicit BEGIN IMMEDIATE is no query
            statements.append(statement)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _complete_counted(sessions, instance_id: int, bpmn_id: str, username: str, data: dict) -> list[str]:
    with unit_of_work(sessions) as s:
        task_id, actor = open_task(s, instance_id, bpmn_id).id, as_user(s, username)
        with counting(sessions) as statements:
            complete_task(s, task_id, actor, data)
    return statements


def test_a_completion_stays_within_its_statement_budget(org_sessions):
    deploy_approval(org_sessions)
    with unit_of_work(org_sessions) as s:
        instance_id = start_instance(s, "approval_test", as_user(s, "nadia")).id
    # The request: a business rule and its facts, the manager's task, its timer, mail to the manager.
    # 29 statements before the budget was set; 18 since.
    request = _complete_counted(org_sessions, instance_id, "request", "nadia", REQUEST)
    assert len(request) <= 20, "\n".join(request)
    # The manager's decision: mail to the requester, the HR task and its mail. 18 before; 11 (SQLite,
    # which needs no row lock) or 12 since.
    review = _complete_counted(org_sessions, instance_id, "manager_review", "julien", {"decision": "approve"})
    assert len(review) <= 14, "\n".join(review)
