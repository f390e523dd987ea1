"""Four eyes on deploys (issue 13, item 7): a process owner deployed a version naming himself for a
signature, then both reviewed and signed a request. A version now names its author and, with four
eyes on, waits until another process owner approves it; the author never can."""
from __future__ import annotations

import pytest

from engine import (Conflict, InvalidBundle, PermissionDenied, ProcessVersion, ProposedVersion, approve,
                    deploy_folder, get_version, pending_versions, reject, start_instance, submit, unit_of_work,
                    verify_audit)
from engine.models import AuditEvent
from engine.review import steps_assigned_to

from .helpers import approval_bundle, as_user, deploy_approval

#: the manager's review given to the process owner who uploads the diagram, by name
SELF_ASSIGNED = {'name="Manager review" camunda:assignee="${manager_of(agent)}"':
                 'name="Manager review" camunda:assignee="luc"'}


def propose(sessions, bundle=None, username="luc", comment="luc signs"):
    with unit_of_work(sessions) as s:
        result = submit(s, bundle or approval_bundle(**SELF_ASSIGNED), as_user(s, username), comment, four_eyes=True)
        assert isinstance(result, ProposedVersion)
        return result.id


def events(session) -> list[tuple[str, str, int | None]]:
    rows = session.query(AuditEvent).filter(AuditEvent.type.like("process_%")).order_by(AuditEvent.id)
    return [(e.type, e.actor, e.version) for e in rows]


def test_a_proposed_version_waits_for_another_process_owner(org_sessions):
    deploy_approval(org_sessions)
    proposed_id = propose(org_sessions)
    with unit_of_work(org_sessions) as s:
        [waiting] = pending_versions(s, "approval_test")
        assert (waiting.id, waiting.author, waiting.status) == (proposed_id, "luc", "pending")
        # nothing runs on it: new requests still start on version 1
        assert get_version(s, "approval_test").version == 1
        assert start_instance(s, "approval_test", as_user(s, "nadia")).version.version == 1
    with unit_of_work(org_sessions) as s, pytest.raises(PermissionDenied, match="author of a version cannot approve"):
        approve(s, proposed_id, as_user(s, "luc"))
    with unit_of_work(org_sessions) as s, pytest.raises(PermissionDenied):
        approve(s, proposed_id, as_user(s, "thomas"))
    with unit_of_work(org_sessions) as s:
        deployment = approve(s, proposed_id, as_user(s, "elodie"))
        assert deployment.created and deployment.version.version == 2
    with unit_of_work(org_sessions) as s:
        version = get_version(s, "approval_test")
        assert (version.version, version.author, version.deployed_by, version.comment) == (2, "luc", "elodie", "luc signs")
        assert start_instance(s, "approval_test", as_user(s, "nadia")).version.version == 2
        assert pending_versions(s) == []
        decided = s.get(ProposedVersion, proposed_id)
        assert (decided.status, decided.reviewed_by, decided.version.version) == ("approved", "elodie", 2)
        assert events(s) == [("process_deployed", "luc", 1), ("process_proposed", "luc", None),
                             ("process_deployed", "elodie", 2), ("process_approved", "elodie", 2)]
        proposed_event = s.query(AuditEvent).filter_by(type="process_proposed").one()
        assert proposed_event.data["steps_assigned_to_author"] == ["manager_review"]
        assert s.query(AuditEvent).filter_by(type="process_approved").one().data["author"] == "luc"
        assert verify_audit(s).ok
    with unit_of_work(org_sessions) as s, pytest.raises(Conflict):  # decided once
        approve(s, proposed_id, as_user(s, "elodie"))


def test_the_steps_a_diagram_gives_its_author_are_found():
    steps = steps_assigned_to(approval_bundle(**SELF_ASSIGNED), "luc")
    assert [(step.id, step.name) for step in steps] == [("manager_review", "Manager review")]
    listed = approval_bundle(**{'camunda:assignee="${manager_of(agent)}"':
                                'camunda:candidateUsers="claire, ${agent},luc"'})
    assert [step.id for step in steps_assigned_to(listed, "luc")] == ["manager_review"]
    assert steps_assigned_to(listed, "claire")[0].id == "manager_review"
    assert steps_assigned_to(approval_bundle(), "luc") == []  # ${...} names no one by itself
    assert steps_assigned_to({"x.bpmn": b"not xml"}, "luc") == []


def test_a_rejected_or_withdrawn_version_deploys_nothing(org_sessions):
    deploy_approval(org_sessions)
    first = propose(org_sessions)
    with unit_of_work(org_sessions) as s:
        rejected = reject(s, first, as_user(s, "elodie"), "no self-signing")
        assert (rejected.status, rejected.reviewed_by, rejected.review_comment) == ("rejected", "elodie", "no self-signing")
    second = propose(org_sessions, approval_bundle(**{"A small process": "Another small process"}))
    with unit_of_work(org_sessions) as s:
        reject(s, second, as_user(s, "luc"), "")  # its author withdraws it
    with unit_of_work(org_sessions) as s:
        assert s.query(ProcessVersion).count() == 1 and pending_versions(s) == []
        assert [e[0] for e in events(s)].count("process_rejected") == 2
    with unit_of_work(org_sessions) as s, pytest.raises(Conflict):
        approve(s, first, as_user(s, "elodie"))
    with unit_of_work(org_sessions) as s, pytest.raises(PermissionDenied):
        reject(s, propose(org_sessions), as_user(s, "nadia"))


def test_proposing_the_same_files_twice_or_the_current_ones_adds_nothing(org_sessions):
    deploy_approval(org_sessions)
    first = propose(org_sessions)
    assert propose(org_sessions) == first
    with unit_of_work(org_sessions) as s:
        same = submit(s, approval_bundle(), as_user(s, "luc"), "", four_eyes=True)
        assert not isinstance(same, ProposedVersion) and not same.created and same.version.version == 1
        assert len(pending_versions(s)) == 1
        assert [e[0] for e in events(s)].count("process_proposed") == 1


def test_only_process_owners_propose_and_only_valid_files(org_sessions):
    with unit_of_work(org_sessions) as s, pytest.raises(PermissionDenied):
        submit(s, approval_bundle(), as_user(s, "thomas"), "", four_eyes=True)
    with unit_of_work(org_sessions) as s, pytest.raises(InvalidBundle):
        submit(s, {"x.bpmn": b"not xml"}, as_user(s, "luc"), "", four_eyes=True)
    with unit_of_work(org_sessions) as s:
        assert pending_versions(s) == [] and s.query(AuditEvent).count() == 0


def test_a_brand_new_process_waits_too(org_sessions):
    proposed_id = propose(org_sessions)
    with unit_of_work(org_sessions) as s:
        assert s.query(ProcessVersion).count() == 0
        assert approve(s, proposed_id, as_user(s, "elodie")).version.version == 1


def test_with_four_eyes_off_and_from_disk_versions_deploy_at_once(org_sessions):
    with unit_of_work(org_sessions) as s:
        result = submit(s, approval_bundle(), as_user(s, "luc"), "direct", four_eyes=False)
        assert result.created and (result.version.author, result.version.deployed_by) == ("luc", "luc")
        assert all(d.created for d in deploy_folder(s))  # processes/ at start-up: the system, directly
        assert {v.author for v in s.query(ProcessVersion) if v.process_key != "approval_test"} == {"system"}
        assert pending_versions(s) == []


def test_the_engine_checks_before_it_decides():
    from engine import review
    from .test_permissions import _names
    for function in (review.submit, review.approve, review.reject):
        assert "permissions" in _names(function), function.__name__
    assert "can_approve_version" in _names(review.approve)
