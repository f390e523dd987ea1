"""The audit trail read whole for an export: only by who may read the audit, filtered as the
search, oldest first (a request's in chain order), read a batch at a time."""
from __future__ import annotations

import pytest

from engine import PermissionDenied, audit_trail, complete_task, start_instance, unit_of_work

from .helpers import REQUEST, as_user, deploy_approval, open_task


@pytest.fixture
def instance_id(org_sessions) -> int:
    deploy_approval(org_sessions)
    with unit_of_work(org_sessions) as s:
        instance = start_instance(s, "approval_test", as_user(s, "nadia"))
    with unit_of_work(org_sessions) as s:
        complete_task(s, open_task(s, instance.id, "request").id, as_user(s, "nadia"), REQUEST)
    return instance.id


@pytest.mark.parametrize("username", ["nadia", "sophie", "luc"])
def test_only_auditors_and_administrators_read_the_trail(org_sessions, instance_id, username):
    with unit_of_work(org_sessions) as s:
        with pytest.raises(PermissionDenied):
            audit_trail(s, as_user(s, username))  # at the call, before any event is read


def test_the_trail_is_filtered_and_oldest_first(org_sessions, instance_id):
    with unit_of_work(org_sessions) as s:
        auditor = as_user(s, "antoine")
        with audit_trail(s, auditor, batch=2) as result:  # several batches
            everything = list(result)
        with audit_trail(s, as_user(s, "elodie"), instance_id=instance_id) as result:
            chain = list(result)
        with audit_trail(s, auditor, type="task_completed", actor="nadia", process="approval_test") as result:
            completed = list(result)
    assert [e.type for e in everything[:1]] == ["process_deployed"]
    assert [(e.at, e.seq) for e in everything if e.instance_id == instance_id] == [(e.at, e.seq) for e in chain]
    assert [e.at for e in everything] == sorted(e.at for e in everything)
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1)) and len(chain) > 2
    assert [(e.instance_id, e.task_id, e.data["title"]) for e in completed] == [(instance_id, "request",
                                                                                 REQUEST["title"])]
    assert all(len(e.hash) == 64 and len(e.prev_hash) == 64 for e in everything)
