"""Facts a business rule needs that are in no form: the agent's other commitments, status, host."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from . import clock
from .models import Instance, Organisation
from .org import find_user
from .sandbox import months_between


def agent_of(data: Mapping[str, Any], started_by: str) -> str:
    return str(data.get("agent") or started_by)


def facts_for(session: Session, instance: Instance, data: Mapping[str, Any]) -> dict[str, Any]:
    """The facts injected into task data before a business rule task runs.

    They read people, organisations and *other* instances, none of which the running unit of work
    changes: its pending changes (this instance's data, its tasks, audit events) wait for the next
    flush instead of being flushed by these queries (each such flush was an extra UPDATE of the
    instance row).
    """
    with session.no_autoflush:
        return _facts(session, instance, data)


def _facts(session: Session, instance: Instance, data: Mapping[str, Any]) -> dict[str, Any]:
    agent = agent_of(data, instance.started_by)
    user = find_user(session, agent, active_only=False)
    host = data.get("host_organisation")
    organisation = session.get(Organisation, str(host)) if host else None
    return {
        "agent_committed_share": committed_share(session, agent, exclude_instance=instance.id),
        "agent_status": user.employment_status if user else None,
        "agent_career_end": user.career_end.isoformat() if user and user.career_end else None,
        "agent_manager": user.manager_username if user else None,
        "host_kind": organisation.kind if organisation else None,
        "months_with_host": months_with_host(session, agent, str(host), exclude_instance=instance.id) if host else 0,
        "today": clock.today().isoformat(),
    }


def committed_share(session: Session, agent: str, exclude_instance: int | None = None) -> int:
    """Percent of working time `agent` gives to other approved, running missions."""
    rows = session.scalars(select(Instance.data).where(Instance.agent == agent, Instance.status == "running",
                                                       Instance.approved_at.is_not(None),
                                                       Instance.id != (exclude_instance or -1)))
    return sum(_int(data.get("time_share")) for data in rows)


def months_with_host(session: Session, agent: str, host: str, exclude_instance: int | None = None) -> int:
    """Months of earlier conventions (approved or completed) between `agent` and `host`."""
    rows = session.scalars(select(Instance.data).where(
        Instance.agent == agent, Instance.id != (exclude_instance or -1),
        or_(Instance.end_state == "completed", (Instance.status == "running") & Instance.approved_at.is_not(None))))
    total = 0
    for data in rows:
        if data.get("host_organisation") == host and data.get("start_date") and data.get("end_date"):
            total += months_between(data["start_date"], data["end_date"])
    return total


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
