"""The engine decides who may deploy and read the audit, whoever calls it; signing in is one engine
function that records the attempt."""
from __future__ import annotations

import pytest

from engine import (PermissionDenied, check_audit_chain, deploy, find_user, queries, search_audit, sign_in,
                    unit_of_work)
from engine.models import AuditEvent

from .helpers import approval_bundle


@pytest.mark.parametrize("name", ["claire", "antoine", "sophie"])
def test_deploy_refuses_a_person_who_may_not(org_sessions, name):
    with unit_of_work(org_sessions) as s:
        with pytest.raises(PermissionDenied):
            deploy(s, approval_bundle(), find_user(s, name), "not mine to deploy")
        assert queries.has_people(s)


def test_deploy_by_a_process_owner_records_their_name(org_sessions):
    with unit_of_work(org_sessions) as s:
        version = deploy(s, approval_bundle(), find_user(s, "luc"), "mine").version
        assert version.deployed_by == "luc" and version.author == "luc"


@pytest.mark.parametrize("name", ["claire", "luc", "sophie"])
def test_audit_reading_refuses_who_is_not_an_auditor(db, name):
    reader = find_user(db, name)
    with pytest.raises(PermissionDenied):
        search_audit(db, reader)
    with pytest.raises(PermissionDenied):
        check_audit_chain(db, reader)


def test_auditors_read_the_audit(db):
    antoine = find_user(db, "antoine")
    sign_in(db, "nadia", "wrong", via="web", address="192.0.2.1")
    assert [e.type for e in search_audit(db, antoine, actor="nadia").items] == ["sign_in_failed"]
    assert check_audit_chain(db, antoine).ok


def test_sign_in_records_the_attempt_either_way(db):
    assert sign_in(db, "nadia", "wrong", via="api", address="192.0.2.7") is None
    user = sign_in(db, "nadia", "demo", via="web", address=None)
    assert user is not None and user.username == "nadia"
    assert sign_in(db, "nobody", "demo", via="web", address="192.0.2.9") is None
    events = db.query(AuditEvent).order_by(AuditEvent.id).all()
    assert [(e.type, e.actor, e.data) for e in events[-3:]] == [
        ("sign_in_failed", "nadia", {"via": "api", "address": "192.0.2.7"}),
        ("user_signed_in", "nadia", {"via": "web", "address": None}),
        ("sign_in_failed", "nobody", {"via": "web", "address": "192.0.2.9"}),
    ]
