"""What a person needs to see about a request: its key facts, the decisions taken, its story.

Everything comes from our own tables (the instance's data, its human tasks and their forms, its
audit events) — never from a loaded workflow.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import format_date, gettext as _
from sqlalchemy.orm import Session

from engine import AuditEvent, HumanTask, Instance, queries

from .formview import editable_fields, readonly_fields
from .incidents import failure_words
from .labels import event_label
from .people import People

PERSON_KEYS = {"agent", "host_manager", "volunteer", "started_by"}
#: variables a step may show (`shows`) that no form asks for: set by the engine or a script
VARIABLE_LABELS = {"agent": lambda: _("Agent"), "volunteer": lambda: _("Volunteer")}
#: shown by the page in its own way (an alert), never as a fact
NOT_FACTS = {"eligibility_problems"}


@dataclass(frozen=True)
class Item:
    label: str
    value: str
    long: bool = False


@dataclass
class Decision:
    title: str
    who: str
    when: datetime | None
    items: list[Item] = field(default_factory=list)


@dataclass
class Moment:
    when: datetime
    who: str
    what: str
    step: str = ""
    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    type: str = ""


class RequestContext:
    """The facts, decisions and story of one instance, in words."""

    def __init__(self, session: Session, instance: Instance, tasks: list[HumanTask], names: People):
        self.instance, self.tasks, self.names = instance, tasks, names
        first = tasks[0].form if tasks else {"fields": []}
        self.specs: dict[str, dict[str, Any]] = {}
        self.fact_ids: list[str] = []
        for spec in editable_fields(first):
            self.specs[spec["id"]] = spec
            self.fact_ids.append(spec["id"])
        for task in tasks:
            for spec in readonly_fields(task.form or {}):
                if spec["id"] not in self.specs:
                    self.specs[spec["id"]] = spec
                    self.fact_ids.append(spec["id"])
        self.first_task_id = tasks[0].id if tasks else None
        # the label of any field of the request, for the variables a step shows from another step
        self.labels: dict[str, dict[str, Any]] = dict(self.specs)
        for task in tasks:
            for spec in (task.form or {}).get("fields", []):
                self.labels.setdefault(spec["id"], spec)
        self._organisations: dict[str, str] | None = None
        self._session = session

    # --- values -----------------------------------------------------------------------------

    def organisation_name(self, organisation_id: str) -> str:
        if self._organisations is None:
            self._organisations = {o.id: o.name for o in queries.organisations(self._session)}
        return self._organisations.get(organisation_id, organisation_id)

    def show(self, spec: dict[str, Any] | None, key: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        constraints = (spec or {}).get("constraints") or {}
        if spec and spec.get("type") == "enum":
            for option in spec.get("options") or []:
                if option["id"] == str(value):
                    return option["label"]
        if spec and spec.get("type") == "date" or (isinstance(value, str) and _looks_like_date(value)):
            try:
                return format_date(date.fromisoformat(str(value)), "long")
            except ValueError:
                return str(value)
        if "username" in constraints or key in PERSON_KEYS:
            return self.names.name(str(value))
        if "organisation" in constraints:
            return self.organisation_name(str(value))
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    def usernames(self) -> set[str]:
        """The people named in the data, to look up in the same query as the others."""
        found = set()
        for key, value in (self.instance.data or {}).items():
            spec = self.specs.get(key) or {}
            if isinstance(value, str) and (key in PERSON_KEYS or "username" in (spec.get("constraints") or {})):
                found.add(value)
        for task in self.tasks:
            for spec in editable_fields(task.form or {}):
                value = (task.data or {}).get(spec["id"])
                if isinstance(value, str) and "username" in (spec.get("constraints") or {}):
                    found.add(value)
        return found

    def _item(self, spec: dict[str, Any] | None, key: str, value: Any) -> Item:
        shown = self.show(spec, key, value)
        return Item((spec or {}).get("label") or key, shown, long=len(shown) > 80 or "\n" in shown)

    # --- what the page shows ----------------------------------------------------------------

    def facts(self, exclude: set[str] = frozenset()) -> list[Item]:
        data = self.instance.data or {}
        return [self._item(self.specs[key], key, data.get(key)) for key in self.fact_ids
                if key in data and key not in exclude]

    def shown(self, data: dict[str, Any], keys: list[str]) -> list[Item]:
        """The items of `data` (what the engine lets a reader see of a step) named by `keys`, in order."""
        items = []
        for key in dict.fromkeys(keys):
            if key in data and key not in NOT_FACTS:
                spec = self.labels.get(key)
                if spec is None and key in VARIABLE_LABELS:
                    spec = {"id": key, "label": VARIABLE_LABELS[key]()}
                items.append(self._item(spec, key, data[key]))
        return items

    def eligibility_problems(self, data: dict[str, Any] | None = None) -> list[str]:
        source = self.instance.data if data is None else data
        problems = (source or {}).get("eligibility_problems") or []
        return [str(p) for p in problems] if isinstance(problems, list) else [str(problems)]

    def answers(self, task: HumanTask, data: dict[str, Any] | None = None) -> list[Item]:
        """What was answered at a step, except the request's facts (shown once, above)."""
        data = task.data if data is None else data
        items = []
        for spec in editable_fields(task.form or {}):
            if spec["id"] in (data or {}) and spec["id"] not in self.fact_ids:
                items.append(self._item(spec, spec["id"], data[spec["id"]]))
        return items

    def decisions(self) -> list[Decision]:
        done = [t for t in self.tasks if t.status == "completed"]
        return [Decision(t.title, self.names.name(t.completed_by), t.completed_at, self.answers(t)) for t in done]

    def steps_done(self, visible) -> list[Decision]:
        """The finished steps `visible(task)` lets a task's reader know of, without their answers
        (what a step shows of the others is what its diagram declares, shown with its facts)."""
        return [Decision(t.title, self.names.name(t.completed_by), t.completed_at)
                for t in self.tasks if t.status == "completed" and visible(t)]

    def story(self, events: list[AuditEvent]) -> list[Moment]:
        """The request's timeline for people: who did what, when, with what answer."""
        forms = {t.bpmn_id: t for t in self.tasks}
        moments = []
        for event in events:
            if event.type in ("task_created",):
                continue
            who = _("Passerelle") if event.actor == "system" else self.names.name(event.actor)
            moment = Moment(event.at, who, event_label(event.type), event.task_name or "", type=event.type)
            data = event.data or {}
            if event.type == "task_completed" and event.task_id in forms:
                moment.items = self.answers(forms[event.task_id], data)
            elif event.type == "decision_evaluated":
                result = data.get("result") or {}
                problems = result.get("eligibility_problems")
                if isinstance(problems, list):
                    moment.problems = [str(p) for p in problems]
                    moment.items = [Item(_("Result"), _("%(n)s problem(s) to fix", n=len(problems))
                                         if problems else _("all rules are met"))]
            elif event.type == "instance_cancelled" and data.get("reason"):
                moment.items = [Item(_("Reason"), str(data["reason"]), long=True)]
            elif event.type == "instance_failed" and data.get("message"):
                moment.items = [Item(_("Reason"), failure_words(data["message"]) or "", long=True)]
            elif event.type == "incident_retried" and isinstance(data.get("attempts"), int):
                moment.items = [Item(_("Failed attempts before the retry"), str(data["attempts"]))]
            elif event.type in ("task_claimed", "task_released") and data.get("assignee"):
                moment.items = [Item(_("Now with"), self.names.name(data["assignee"]))] \
                    if event.type == "task_claimed" else []
            moments.append(moment)
        return moments


def _looks_like_date(value: str) -> bool:
    return len(value) == 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit()


def history_names(events: list[AuditEvent]) -> set[str]:
    names = {e.actor for e in events}
    names |= {(e.data or {}).get("assignee") for e in events if isinstance((e.data or {}).get("assignee"), str)}
    return names - {None, "system"}
