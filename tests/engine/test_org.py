"""Loading the organisation from YAML: upsert by username, deactivate the missing, never delete."""
from __future__ import annotations

import pytest

from engine import InvalidData, Message, find_user, load_organisation, unit_of_work
from engine.credentials import authenticate
from engine.models import User
from engine.org import ROLES


def test_demo_organisation_has_every_role_and_hashed_passwords(db):
    users = db.query(User).all()
    roles = {role for u in users for role in u.all_roles}
    assert set(ROLES) <= roles
    assert 12 <= len(users) <= 20
    assert all(u.password_hash.startswith("scrypt:") and "demo" not in u.password_hash for u in users)
    assert authenticate(db, "nadia", "demo").username == "nadia"
    assert authenticate(db, "nadia", "wrong") is None
    assert authenticate(db, "nobody", "demo") is None


def test_reload_upserts_and_deactivates_missing_users(org_sessions):
    with unit_of_work(org_sessions) as s:
        counts = load_organisation(s, {"users": [
            {"username": "nadia", "name": "Nadia B.", "roles": ["project_lead"], "password": "new"},
            {"username": "zoe", "name": "Zoé", "manager": "nadia"},
        ]})
    assert counts["users"] == 2 and counts["deactivated"] >= 12
    with unit_of_work(org_sessions) as s:
        assert find_user(s, "nadia").name == "Nadia B."
        assert find_user(s, "zoe").manager_username == "nadia"
        thomas = find_user(s, "thomas", active_only=False)
        assert thomas is not None and not thomas.active
        assert authenticate(s, "thomas", "demo") is None
        assert authenticate(s, "nadia", "new") is not None


@pytest.mark.parametrize("document, fragment, said", [
    ({"users": [{"username": "x"}]}, "lacks name",
     Message("org.entry_incomplete", section="users", entry="{'username': 'x'}", missing=["name"])),
    ({"users": [{"username": "x", "name": "X", "roles": ["pope"]}]}, "unknown roles",
     Message("org.unknown_roles", user="x", roles=["pope"])),
    ({"organisations": [{"id": "o", "name": "O", "kind": "club"}]}, "unknown kind",
     Message("org.unknown_kind", organisation="o", kind="club")),
    ({"users": ["just a string"]}, "must be a mapping",
     Message("org.entry_not_mapping", section="users", entry="'just a string'")),
    ({"users": [{"username": "x", "name": "X", "employment_status": "pirate"}]}, "unknown employment_status",
     Message("org.unknown_status", user="x", status="pirate")),
])
def test_bad_entries_are_refused_with_a_message_naming_them(org_sessions, document, fragment, said):
    with unit_of_work(org_sessions) as s:
        with pytest.raises(InvalidData, match=fragment) as refused:
            load_organisation(s, document)
    assert refused.value.said == said  # the code and what it names, for the web to word
