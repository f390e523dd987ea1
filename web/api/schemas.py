"""The API's wire format: marshmallow schemas for what goes in and out, nothing else.

Response schemas dump plain dicts built by `representations`; request schemas validate what a
client sends before any engine code runs (unknown keys are refused).
"""
from __future__ import annotations

from datetime import date, datetime, timezone

import marshmallow as ma
from marshmallow import fields, validate
from flask_smorest.fields import Upload
from werkzeug.datastructures import FileStorage

from engine import EVENT_TYPES, PHASES, register

#: ids are 32-bit in the database: larger ones cannot exist (and must not reach the driver)
MAX_ID = 2**31 - 1
MAX_PAGE = 1_000_000
MISSION_SORTS = register.SORTS


def _no_nul(value: str) -> bool:
    if "\x00" in value:
        raise ma.ValidationError("must not contain NUL characters")
    return True


class Text(fields.String):
    """A string the database can store (PostgreSQL refuses NUL characters)."""

    def __init__(self, *args, **kwargs):
        validators = kwargs.pop("validate", None) or []
        validators = validators if isinstance(validators, list) else [validators]
        super().__init__(*args, validate=[_no_nul, *validators], **kwargs)


def _check_nul(value, path="", depth=0):
    if depth > 32:
        raise ma.ValidationError("is nested too deeply")
    if isinstance(value, str) and "\x00" in value:
        raise ma.ValidationError(f"{path or 'value'} must not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_nul(key, path, depth + 1)
            _check_nul(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_nul(item, f"{path}[{index}]", depth + 1)


class JSONObject(fields.Dict):
    """A free JSON object (form values, request data) that the database can store."""

    def __init__(self, **kwargs):
        super().__init__(keys=fields.String(), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        _check_nul(result)
        return result


class UTCDateTime(fields.DateTime):
    """ISO 8601 in UTC out; in, a naive time is taken as UTC and years stay within 1900-9999."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(timezone.utc).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        try:
            moment = moment.astimezone(timezone.utc)
        except OverflowError:
            raise ma.ValidationError("out of range") from None
        if not 1900 <= moment.year <= 9999:
            raise ma.ValidationError("must be between the years 1900 and 9999")
        return moment


class FileField(Upload):
    """One uploaded file (a multipart part with a file name)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("must be a file")
        return value


# --- errors ---------------------------------------------------------------------------------------

class ProblemSchema(ma.Schema):
    file = fields.String(required=True)
    line = fields.Integer(allow_none=True, required=True)
    element = fields.String(allow_none=True, required=True)
    message = fields.String(required=True)


class ErrorSchema(ma.Schema):
    """Every error: `errors` maps each field at fault to its messages."""

    code = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "the HTTP reason phrase"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    problems = fields.List(fields.Nested(ProblemSchema), metadata={"description": "invalid BPMN/DMN uploads"})


# --- lists ----------------------------------------------------------------------------------------

class PageArgs(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE), metadata={"description": "from 1"})
    page_size = fields.Integer(load_default=50, validate=validate.Range(1, 200))


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The list envelope `{"items", "total", "page", "page_size"}` around `item_schema`."""
    return type(name, (ma.Schema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "total": fields.Integer(required=True),
        "page": fields.Integer(required=True),
        "page_size": fields.Integer(required=True),
    })


# --- auth and people ------------------------------------------------------------------------------

class TokenRequestSchema(ma.Schema):
    username = Text(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(max=1024))


class TokenSchema(ma.Schema):
    token = fields.String(required=True)
    expires_at = UTCDateTime(required=True)


class MeSchema(ma.Schema):
    username = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    directorate = fields.String(allow_none=True, required=True, metadata={"description": "directorate code"})
    directorate_name = fields.String(allow_none=True, required=True)
    manager = fields.String(allow_none=True, required=True, metadata={"description": "the line manager's username"})


# --- processes ------------------------------------------------------------------------------------

class VersionSchema(ma.Schema):
    version = fields.Integer(required=True)
    deployed_at = UTCDateTime(required=True)
    deployed_by = fields.String(required=True)
    author = fields.String(required=True, metadata={"description": "who uploaded the files; not `deployed_by` "
                                                                   "when another process owner approved them"})
    comment = fields.String(required=True)
    checksum = fields.String(required=True)


class ProcessSchema(ma.Schema):
    key = fields.String(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    version = fields.Integer(required=True, metadata={"description": "the latest version"})
    deployed_at = UTCDateTime(required=True)
    deployed_by = fields.String(required=True)
    can_start = fields.Boolean(required=True)
    starter_roles = fields.List(fields.String(), required=True)


class AuthorStepSchema(ma.Schema):
    id = fields.String(required=True, metadata={"description": "the step's BPMN id"})
    name = fields.String(required=True)


class ProposedVersionSchema(ma.Schema):
    id = fields.Integer(required=True)
    process = fields.String(required=True, metadata={"description": "the process key"})
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "pending, approved or rejected"})
    author = fields.String(required=True, metadata={"description": "who proposed it"})
    proposed_at = UTCDateTime(required=True)
    comment = fields.String(required=True)
    checksum = fields.String(required=True)
    files = fields.List(fields.String(), required=True)
    steps_assigned_to_author = fields.List(fields.Nested(AuthorStepSchema), required=True, metadata={
        "description": "steps the diagram gives to its author by name: a reviewer should know"})
    can_approve = fields.Boolean(required=True, metadata={"description": "never for its author"})
    reviewed_by = fields.String(allow_none=True, required=True)
    reviewed_at = UTCDateTime(allow_none=True, required=True)
    review_comment = fields.String(required=True)
    version = fields.Integer(allow_none=True, required=True, metadata={"description": "the version its approval deployed"})


class ProcessDetailSchema(ProcessSchema):
    versions = fields.List(fields.Nested(VersionSchema), required=True, metadata={"description": "newest first"})
    pending = fields.List(fields.Nested(ProposedVersionSchema), metadata={
        "description": "versions proposed and waiting for another process owner (only for process owners)"})


class ReviewSchema(ma.Schema):
    comment = Text(load_default="", validate=validate.Length(max=2000))


ProcessPageSchema = page_of(ProcessSchema, "ProcessPageSchema")


class ValidateUploadSchema(ma.Schema):
    files = fields.List(FileField(), required=True, validate=validate.Length(1, 20),
                        metadata={"description": "one BPMN file and the DMN files it uses"})


class DeployUploadSchema(ValidateUploadSchema):
    comment = Text(load_default="", validate=validate.Length(max=2000))


class ValidationResultSchema(ma.Schema):
    valid = fields.Boolean(required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)


# --- tasks ----------------------------------------------------------------------------------------

class OptionSchema(ma.Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)


class FormFieldSchema(ma.Schema):
    id = fields.String(required=True)
    label = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["string", "long", "boolean", "date", "enum"]))
    required = fields.Boolean(required=True)
    default = fields.Raw(allow_none=True, required=True)
    options = fields.List(fields.Nested(OptionSchema), required=True)
    constraints = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)
    properties = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True)


class FormSchema(ma.Schema):
    fields_ = fields.List(fields.Nested(FormFieldSchema), required=True, data_key="fields", attribute="fields")


class TaskSchema(ma.Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    process = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "the BPMN task id"})
    title = fields.String(required=True)
    lane = fields.String(allow_none=True, required=True)
    assignee = fields.String(allow_none=True, required=True)
    claimed = fields.Boolean(required=True)
    candidate_users = fields.List(fields.String(), required=True)
    candidate_groups = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(["ready", "completed", "cancelled"]))
    can_act = fields.Boolean(required=True, metadata={"description": "the caller may complete it now"})
    created_at = UTCDateTime(required=True)
    due_at = UTCDateTime(allow_none=True, required=True)
    completed_at = UTCDateTime(allow_none=True, required=True)
    completed_by = fields.String(allow_none=True, required=True)
    form = fields.Nested(FormSchema, required=True)
    context = fields.Dict(keys=fields.String(), required=True,
                          metadata={"description": "what this step shows the caller of its request: title, "
                                                 "started_by, the form's read-only fields, the variables "
                                                 "the diagram's `shows` names, the answers given at it"})


TaskPageSchema = page_of(TaskSchema, "TaskPageSchema")


class TaskFiltersSchema(PageArgs):
    scope = fields.String(load_default="actionable",
                          validate=validate.OneOf(["actionable", "mine", "claimable", "all_visible"]),
                          metadata={"description": "default: what the caller can act on now"})
    process = Text(validate=validate.Length(max=128))
    instance = fields.Integer(validate=validate.Range(1, MAX_ID))


class CompleteTaskSchema(ma.Schema):
    data = JSONObject(load_default=dict, metadata={"description": "the form's field values"})


# --- instances ------------------------------------------------------------------------------------

class IncidentSchema(ma.Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["timer", "message"]),
                         metadata={"description": "a timer that would not fire, or an e-mail that could not be sent"})
    id = fields.Integer(required=True, metadata={"description": "the timer's or the message's id (to retry it)"})
    what = fields.String(required=True, metadata={
        "description": "the timer's BPMN id, or the message's `subject → recipient`"})
    attempts = fields.Integer(required=True, metadata={"description": "attempts made before it became an incident"})
    last_error = fields.String(allow_none=True, required=True, metadata={"description": "the last attempt's error"})
    since = UTCDateTime(allow_none=True, required=True, metadata={"description": "when the last attempt was made"})


class InstanceSchema(ma.Schema):
    id = fields.Integer(required=True)
    process = fields.String(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["running", "completed", "cancelled", "failed"]))
    end_state = fields.String(allow_none=True, required=True)
    started_by = fields.String(required=True)
    started_at = UTCDateTime(required=True)
    ended_at = UTCDateTime(allow_none=True, required=True)
    approved_at = UTCDateTime(allow_none=True, required=True)
    agent = fields.String(allow_none=True, required=True)
    phase = fields.String(allow_none=True, required=True, metadata={"description": "where the mission stands"})
    failure = fields.String(allow_none=True, required=True)
    can_cancel = fields.Boolean(required=True)
    data = fields.Dict(keys=fields.String(), required=True)
    open_tasks = fields.List(fields.Nested(TaskSchema), required=True)
    incidents = fields.List(fields.Nested(IncidentSchema), required=True, metadata={
        "description": "background jobs of this request that kept failing; `hr` and `admin` may retry them"})


InstancePageSchema = page_of(InstanceSchema, "InstancePageSchema")


class StartInstanceSchema(ma.Schema):
    process = Text(required=True, validate=validate.Length(1, 128))
    data = JSONObject(load_default=dict)


class CancelSchema(ma.Schema):
    reason = Text(required=True, validate=validate.Length(max=2000))


class InstanceFiltersSchema(PageArgs):
    process = Text(validate=validate.Length(max=128))
    status = fields.String(validate=validate.OneOf(["running", "completed", "cancelled", "failed"]))
    started_by = Text(validate=validate.Length(max=64))
    involved = fields.String(validate=validate.OneOf(["me"]), metadata={"description": "`me`: requests I took part in"})


class CompletionSchema(ma.Schema):
    task = fields.Nested(TaskSchema, required=True)
    instance = fields.Nested(InstanceSchema, required=True)


# --- audit ----------------------------------------------------------------------------------------

class AuditEventSchema(ma.Schema):
    instance_id = fields.Integer(allow_none=True, required=True)
    process = fields.String(allow_none=True, required=True)
    seq = fields.Integer(required=True)
    at = UTCDateTime(required=True)
    actor = fields.String(required=True)
    type = fields.String(required=True)
    task_id = fields.String(allow_none=True, required=True)
    task_name = fields.String(allow_none=True, required=True)
    data = fields.Dict(keys=fields.String(), required=True)
    version = fields.Integer(allow_none=True, required=True)
    hash = fields.String(required=True)
    prev_hash = fields.String(required=True)


AuditEventPageSchema = page_of(AuditEventSchema, "AuditEventPageSchema")


class AuditFiltersSchema(ma.Schema):
    process = Text(validate=validate.Length(max=128))
    actor = Text(validate=validate.Length(max=64))
    type = fields.String(validate=validate.OneOf(EVENT_TYPES))
    since = UTCDateTime()
    until = UTCDateTime()
    instance = fields.Integer(validate=validate.Range(1, MAX_ID))


class AuditPageArgsSchema(AuditFiltersSchema, PageArgs):
    pass


class AuditExportArgsSchema(AuditFiltersSchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "json"]))


class BrokenLinkSchema(ma.Schema):
    instance_id = fields.Integer(allow_none=True, required=True)
    seq = fields.Integer(required=True)


class VerificationSchema(ma.Schema):
    ok = fields.Boolean(required=True)
    events_checked = fields.Integer(required=True)
    first_broken = fields.Nested(BrokenLinkSchema, allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)


# --- the mission register -------------------------------------------------------------------------

class Overlaps(fields.String):
    """`YYYY-MM-DD/YYYY-MM-DD`: the first and the last day of a period (loaded as a pair of dates)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        first, sep, last = text.partition("/")
        try:
            period = (date.fromisoformat(first), date.fromisoformat(last)) if sep and len(text) == 21 else None
        except ValueError:
            period = None
        if period is None:
            raise ma.ValidationError("give a period as YYYY-MM-DD/YYYY-MM-DD")
        if period[1] < period[0]:
            raise ma.ValidationError("the period ends before it starts")
        return period


class MissionFiltersSchema(ma.Schema):
    process = Text(validate=validate.Length(max=128))
    phase = fields.List(fields.String(), load_default=list, validate=validate.ContainsOnly(PHASES),
                        metadata={"description": "repeat for several: any of them"})
    agent = Text(validate=validate.Length(max=64))
    directorate = Text(validate=validate.Length(max=64), metadata={"description": "the agent's or the host's"})
    overlaps = Overlaps(metadata={"description": "missions with a day in this period: YYYY-MM-DD/YYYY-MM-DD"})
    q = Text(validate=validate.Length(max=200), metadata={"description": "words in the title or the descriptions"})
    sort = fields.String(load_default="-instance_id",
                         validate=validate.OneOf([*MISSION_SORTS, *(f"-{s}" for s in MISSION_SORTS)]),
                         metadata={"description": "a column; `-column` for descending"})


class MissionPageArgsSchema(MissionFiltersSchema, PageArgs):
    pass


class MissionExportArgsSchema(MissionFiltersSchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv"]))


class MissionSchema(ma.Schema):
    instance_id = fields.Integer(required=True)
    process = fields.String(required=True)
    title = fields.String(required=True)
    phase = fields.String(allow_none=True, required=True)
    agent = fields.String(allow_none=True, required=True)
    agent_name = fields.String(allow_none=True, required=True)
    agent_directorate = fields.String(allow_none=True, required=True)
    host = fields.String(allow_none=True, required=True)
    host_directorate = fields.String(allow_none=True, required=True)
    time_share = fields.Integer(allow_none=True, required=True, metadata={"description": "percent of working time"})
    start_date = fields.Date(allow_none=True, required=True)
    end_date = fields.Date(allow_none=True, required=True)
    started_by = fields.String(required=True)
    waiting_for = fields.List(fields.String(), required=True, metadata={"description": "names or group labels"})
    waiting_since = UTCDateTime(allow_none=True, required=True)
    end_state = fields.String(allow_none=True, required=True)


MissionPageSchema = page_of(MissionSchema, "MissionPageSchema")
