"""Engine objects -> the plain dicts the API's schemas dump, seen by one actor."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine import (AuditEvent, HumanTask, Incident, Instance, Page, ProcessVersion, ProposedVersion, User, incidents,
                    permissions, phase_today, proposed_bundle, queries, steps_assigned_to, stored_failure, visibility)

from ..messages import api_text, event_data


def page(result: Page, represent) -> dict[str, Any]:
    return {"items": [represent(item) for item in result.items], "total": result.total,
            "page": result.page, "page_size": result.page_size}


def me(session: Session, user: User) -> dict[str, Any]:
    directorate = queries.directorate(session, user.directorate_code)
    return {"username": user.username, "name": user.name, "email": user.email or "", "roles": user.all_roles,
            "directorate": user.directorate_code, "directorate_name": directorate.name if directorate else None,
            "manager": user.manager_username}


def version(row: ProcessVersion) -> dict[str, Any]:
    return {"version": row.version, "deployed_at": row.deployed_at, "deployed_by": row.deployed_by,
            "author": row.author, "comment": row.comment or "", "checksum": row.checksum}


def proposed_version(actor: User, row: ProposedVersion) -> dict[str, Any]:
    files = proposed_bundle(row)
    return {"id": row.id, "process": row.process_key, "name": row.name, "status": row.status, "author": row.author,
            "proposed_at": row.proposed_at, "comment": row.comment or "", "checksum": row.checksum,
            "files": list(files), "can_approve": row.status == "pending" and permissions.can_approve_version(actor, row),
            "steps_assigned_to_author": [{"id": step.id, "name": step.name}
                                         for step in steps_assigned_to(files, row.author)],
            "reviewed_by": row.reviewed_by, "reviewed_at": row.reviewed_at, "review_comment": row.review_comment or "",
            "version": row.version.version if row.version is not None else None}


def process(actor: User, latest: ProcessVersion, versions: list[ProcessVersion] | None = None) -> dict[str, Any]:
    out = {"key": latest.process_key, "name": latest.name, "description": latest.description or "",
           "version": latest.version, "deployed_at": latest.deployed_at, "deployed_by": latest.deployed_by,
           "can_start": permissions.can_start(actor, latest), "starter_roles": list(latest.starter_roles or ["agent"])}
    if versions is not None:
        out["versions"] = [version(v) for v in versions]
    return out


def task(actor: User, row: HumanTask, steps: list[HumanTask] | None = None) -> dict[str, Any]:
    """A task as `actor` may see it: its context is what its step shows them (`engine.visibility`);
    `steps`, the request's tasks, when the caller has them."""
    instance = row.instance
    form = row.form or {}
    # who answered a step is part of the answer: hidden with it from a later candidate
    answerer = row.completed_by if visibility.answers_visible(row, actor, steps) else None
    return {
        "id": row.id, "instance_id": row.instance_id, "process": instance.process_key, "name": row.bpmn_id,
        "title": row.title, "lane": row.lane, "assignee": answerer if row.status == "completed" else row.assignee,
        "claimed": bool(row.claimed),
        "candidate_users": row.candidate_users, "candidate_groups": row.candidate_groups,
        "status": row.status, "can_act": permissions.can_act(actor, row), "created_at": row.created_at,
        "due_at": row.due_at, "completed_at": row.completed_at, "completed_by": answerer,
        "form": {"fields": [_field(f) for f in form.get("fields", [])]},
        "context": visibility.task_data(row, actor, steps),
    }


def _field(spec: dict[str, Any]) -> dict[str, Any]:
    return {"id": spec["id"], "label": spec.get("label") or spec["id"], "type": spec.get("type", "string"),
            "required": bool(spec.get("required")), "default": spec.get("default"),
            "options": [{"id": o["id"], "label": o.get("label") or o["id"]} for o in spec.get("options", [])],
            "constraints": dict(spec.get("constraints") or {}), "properties": dict(spec.get("properties") or {})}


def incident(found: Incident) -> dict[str, Any]:
    return {"kind": found.kind, "id": found.id, "what": found.what, "attempts": found.attempts,
            "last_error": api_text(found.cause), "since": found.since}


def instance(session: Session, actor: User, row: Instance, open_tasks: list[HumanTask] | None = None,
             open_incidents: list[Incident] | None = None) -> dict[str, Any]:
    if open_tasks is None:
        open_tasks = queries.open_tasks(session, row.id)
    if open_incidents is None:
        open_incidents = incidents(session, row.id)
    return {
        "id": row.id, "process": row.process_key, "version": row.version.version, "title": row.title,
        "status": row.status, "end_state": row.end_state, "started_by": row.started_by, "started_at": row.started_at,
        "ended_at": row.ended_at, "approved_at": row.approved_at, "agent": row.agent,
        "phase": phase_today(row.phase, row.start_date),
        "failure": api_text(stored_failure(row.failure)),
        "can_cancel": row.status == "running" and permissions.can_cancel(actor, row),
        "data": dict(row.data or {}),
        "open_tasks": [task(actor, t) for t in open_tasks],
        "incidents": [incident(i) for i in open_incidents],
    }


def instance_page(session: Session, actor: User, result: Page) -> dict[str, Any]:
    """A page of instances, their open tasks and incidents read in one query each rather than one per instance."""
    ids = [row.id for row in result.items]
    waiting = queries.open_tasks_of(session, ids)
    failing: dict[int, list[Incident]] = {i: [] for i in ids}
    if ids:
        for found in incidents(session, ids):
            failing[found.instance_id].append(found)
    return page(result, lambda row: instance(session, actor, row, waiting[row.id], failing[row.id]))


def task_page(session: Session, actor: User, result: Page) -> dict[str, Any]:
    """A page of tasks (`queries.tasks` loads their instances with them), with the other tasks of
    the requests whose finished steps need them to decide what the actor sees, in one query."""
    needed = {row.instance_id for row in result.items if visibility.needs_steps(row, actor)}
    steps = visibility.steps_of(session, needed) if needed else {}
    return page(result, lambda row: task(actor, row, steps.get(row.instance_id)))


def audit_event(event: AuditEvent) -> dict[str, Any]:
    return {"instance_id": event.instance_id, "process": event.process_key, "seq": event.seq, "at": event.at,
            "actor": event.actor, "type": event.type, "task_id": event.task_id, "task_name": event.task_name,
            "data": event_data(event.type, event.data), "version": event.version, "hash": event.hash, "prev_hash": event.prev_hash}


def mission(item, roles: dict[str, str] | None = None) -> dict[str, Any]:
    """A row of the mission register (`engine.register.Mission`); groups it waits for in words
    (`roles`: role -> label, for rows written once the request is gone)."""
    roles = role_words() if roles is None else roles
    return {"instance_id": item.instance_id, "process": item.process, "title": item.title, "phase": item.phase,
            "agent": item.agent, "agent_name": item.agent_name, "agent_directorate": item.agent_directorate,
            "host": item.host, "host_directorate": item.host_directorate, "time_share": item.time_share,
            "start_date": item.start_date, "end_date": item.end_date, "started_by": item.started_by,
            "waiting_for": [name if kind == "user" else roles.get(name, name) for kind, name in item.waiting_for],
            "waiting_since": item.waiting_since, "end_state": item.end_state}


def role_words() -> dict[str, str]:
    """role -> its label in the reader's language, resolved now."""
    from ..pages.labels import ROLE_LABELS  # imported late: the pages import this module
    return {key: str(label) for key, label in ROLE_LABELS.items()}
