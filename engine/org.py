"""The organisation: people, directorates, host organisations; loaded from YAML."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .credentials import hash_password
from . import errors
from .errors import InvalidData
from .messages import Message
from .models import Directorate, Organisation, User

ROLES = ("agent", "manager", "project_lead", "hr", "coordinator", "dgs", "ethics", "host_referent",
         "process_owner", "auditor", "admin")
EMPLOYMENT_STATUSES = ("fonctionnaire", "contractuel", "employee")
ORGANISATION_KINDS = ("association_rup", "foundation_rup", "general_interest", "corporate_foundation", "company")

DEMO_ORGANISATION = Path(__file__).parent / "demo" / "organisation.yaml"


def load_organisation_file(session: Session, path: str | Path) -> dict[str, int]:
    """Load an organisation YAML file; see `load_organisation`."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InvalidData(Message(errors.ORG_NOT_YAML, path=str(path), detail=str(err)),
                          f"{path}: not valid YAML: {err}") from None
    return load_organisation(session, document or {})


def load_organisation(session: Session, document: dict[str, Any]) -> dict[str, int]:
    """Upsert directorates, organisations and users (by username) from a parsed document.

    Users missing from the document are deactivated, never deleted: history keeps them.
    Raises InvalidData naming the entry at fault. Returns counts of what was loaded.
    """
    if not isinstance(document, dict):
        raise InvalidData(Message(errors.ORG_NOT_MAPPING),
                          "the organisation file must be a mapping with keys directorates, organisations, users")
    for entry in document.get("directorates") or []:
        _require(entry, ("code", "name"), "directorates")
        row = session.scalar(select(Directorate).where(Directorate.code == entry["code"])) or Directorate(code=entry["code"])
        row.name = entry["name"]
        session.add(row)
    for entry in document.get("organisations") or []:
        _require(entry, ("id", "name", "kind"), "organisations")
        if entry["kind"] not in ORGANISATION_KINDS:
            raise InvalidData(Message(errors.ORG_UNKNOWN_KIND, organisation=str(entry["id"]), kind=str(entry["kind"])),
                              f"organisations: {entry['id']}: unknown kind {entry['kind']!r}",
                              {"kind": [Message(errors.ORG_ONE_OF, options=list(ORGANISATION_KINDS))]})
        row = session.get(Organisation, entry["id"]) or Organisation(id=entry["id"])
        row.name, row.kind = entry["name"], entry["kind"]
        session.add(row)
    seen: set[str] = set()
    for entry in document.get("users") or []:
        _require(entry, ("username", "name"), "users")
        username = str(entry["username"])
        seen.add(username)
        user = session.scalar(select(User).where(User.username == username)) or User(username=username)
        _apply_user(user, entry)
        session.add(user)
    deactivated = 0
    if seen:
        for user in session.scalars(select(User).where(User.active.is_(True), User.username.not_in(seen))):
            user.active = False
            deactivated += 1
    session.flush()
    return {"users": len(seen), "deactivated": deactivated,
            "directorates": len(document.get("directorates") or []),
            "organisations": len(document.get("organisations") or [])}


def _require(entry: Any, keys: tuple[str, ...], section: str) -> None:
    if not isinstance(entry, dict):
        raise InvalidData(Message(errors.ORG_ENTRY_NOT_MAPPING, section=section, entry=repr(entry)),
                          f"{section}: each entry must be a mapping, got {entry!r}")
    missing = [key for key in keys if not entry.get(key)]
    if missing:
        raise InvalidData(Message(errors.ORG_ENTRY_INCOMPLETE, section=section, entry=repr(entry), missing=missing),
                          f"{section}: entry {entry!r} lacks {', '.join(missing)}",
                          {k: [Message(errors.ORG_REQUIRED)] for k in missing})


def _apply_user(user: User, entry: dict[str, Any]) -> None:
    roles = [str(r) for r in entry.get("roles") or []]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidData(Message(errors.ORG_UNKNOWN_ROLES, user=user.username, roles=unknown),
                          f"users: {user.username}: unknown roles {unknown}",
                          {"roles": [Message(errors.ORG_NOT_A_ROLE, roles=unknown)]})
    status = entry.get("employment_status", "fonctionnaire")
    if status not in EMPLOYMENT_STATUSES:
        raise InvalidData(Message(errors.ORG_UNKNOWN_STATUS, user=user.username, status=str(status)),
                          f"users: {user.username}: unknown employment_status {status!r}")
    user.name = entry["name"]
    user.email = entry.get("email") or f"{user.username}@example.org"
    user.directorate_code = entry.get("directorate")
    user.manager_username = entry.get("manager")
    user.roles = sorted(set(roles) | {"agent"})
    user.employment_status = status
    career_end = entry.get("career_end")
    user.career_end = date.fromisoformat(str(career_end)) if career_end else None
    user.organisation_id = entry.get("organisation")
    user.active = bool(entry.get("active", True))
    if entry.get("password"):
        user.password_hash = hash_password(str(entry["password"]))


_USER = select(User).where(User.username == bindparam("username"))  # built once: every request
_ACTIVE_USER = _USER.where(User.active.is_(True))


def find_user(session: Session, username: str | None, *, active_only: bool = True) -> User | None:
    if not username:
        return None
    return session.scalar(_ACTIVE_USER if active_only else _USER, {"username": str(username)})


def manager_of(session: Session, username: str | None) -> str | None:
    user = find_user(session, username, active_only=False)
    return user.manager_username if user else None


def host_referents(session: Session, organisation_id: str | None) -> list[str]:
    if not organisation_id:
        return []
    users = session.scalars(select(User).where(User.organisation_id == organisation_id, User.active.is_(True)))
    return sorted(u.username for u in users if "host_referent" in (u.roles or []))


def reports_of(session: Session, manager_username: str) -> list[str]:
    return list(session.scalars(select(User.username).where(User.manager_username == manager_username)))


def users_with_role(session: Session, role: str) -> list[User]:
    return [u for u in session.scalars(select(User).where(User.active.is_(True))) if role in u.all_roles]
