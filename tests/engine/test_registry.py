"""Deploying bundles: validation, checksums, versions, and instances pinned to their version."""
from __future__ import annotations

import pytest

from engine import InvalidBundle, deploy, deploy_folder, get_version, list_processes, start_instance, unit_of_work
from engine.models import AuditEvent, ProcessVersion
from engine.registry import checksum

from .helpers import approval_bundle, as_user, deploy_approval, edit


def test_deploy_stores_exact_files_checksum_author_and_comment(org_sessions):
    bundle = approval_bundle()
    with unit_of_work(org_sessions) as s:
        result = deploy(s, bundle, "luc", "first version")
        assert result.created
    with unit_of_work(org_sessions) as s:
        version = get_version(s, "approval_test")
        assert (version.version, version.deployed_by, version.comment) == (1, "luc", "first version")
        assert version.checksum == checksum(bundle)
        assert {f.filename: f.content for f in version.files} == bundle
        assert version.name == "Approval test"
        assert "small process" in version.description
        event = s.query(AuditEvent).filter_by(type="process_deployed").one()
        assert (event.actor, event.process_key, event.version) == ("luc", "approval_test", 1)


def test_identical_content_creates_no_new_version(org_sessions):
    assert deploy_approval(org_sessions) == 1
    with unit_of_work(org_sessions) as s:
        again = deploy(s, approval_bundle(), "ines", "again")
        assert not again.created and again.version.version == 1
        assert s.query(ProcessVersion).count() == 1


def test_changed_content_creates_next_version_and_new_instances_use_it(org_sessions):
    deploy_approval(org_sessions)
    with unit_of_work(org_sessions) as s:
        old = start_instance(s, "approval_test", as_user(s, "nadia"))
    changed = edit(approval_bundle(), "approval_test.bpmn", 'name="Describe the request"', 'name="Describe it"')
    assert deploy_approval(org_sessions, changed) == 2
    with unit_of_work(org_sessions) as s:
        new = start_instance(s, "approval_test", as_user(s, "nadia"))
        assert new.version.version == 2
        assert s.get(type(old), old.id).version.version == 1


def test_invalid_bundle_is_refused_and_nothing_is_written(org_sessions):
    broken = edit(approval_bundle(), "approval_test.bpmn", 'targetRef="rule"', 'targetRef="nowhere"')
    with unit_of_work(org_sessions) as s:
        with pytest.raises(InvalidBundle) as err:
            deploy(s, broken, "luc")
    assert any(p.params.get("ref") == "nowhere" for p in err.value.problems)
    with unit_of_work(org_sessions) as s:
        assert s.query(ProcessVersion).count() == 0
        assert s.query(AuditEvent).count() == 0


def test_processes_folder_deploys_every_shipped_process_idempotently(org_sessions):
    with unit_of_work(org_sessions) as s:
        first = deploy_folder(s)
    with unit_of_work(org_sessions) as s:
        second = deploy_folder(s)
        keys = {p.process_key for p in list_processes(s)}
    assert all(d.created for d in first) and not any(d.created for d in second)
    assert {"temporary_support_mission", "end_of_career_mission", "skills_sponsorship", "mission_exchange"} <= keys


def test_specs_stored_by_an_older_serializer_are_reparsed_from_the_deployed_files(org_sessions, monkeypatch):
    import json
    from engine import registry
    from engine.lru import Lru
    from engine.spiff import SERIALIZER_VERSION
    monkeypatch.setattr(registry, "_parsed", Lru(128))  # a server restarted after the upgrade
    deploy_approval(org_sessions)
    with unit_of_work(org_sessions) as s:
        version = get_version(s, "approval_test")
        stale = json.loads(version.spec_json)
        stale["serializer_version"] = "1.0"
        stale["spec"] = {"typename": "SomethingOldSpiffNoLongerKnows"}
        version.spec_json = json.dumps(stale)
    with unit_of_work(org_sessions) as s:
        instance = start_instance(s, "approval_test", as_user(s, "nadia"))
        assert instance.status == "running"
        assert json.loads(get_version(s, "approval_test").spec_json)["serializer_version"] == SERIALIZER_VERSION
