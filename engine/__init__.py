"""Passerelle's workflow engine: BPMN processes run by SpiffWorkflow, persisted with SQLAlchemy.

This package never imports Flask: the web layer, the command line, the worker and the tests all
use the same functions, each taking an explicit Session and acting user. Callers own the
transaction (see `engine.db.unit_of_work`).
"""
from .bundle import BPMN, DMN, Bundle, kind_of
from .audit import EVENT_TYPES, EventType, Verification, verify as verify_audit
from .clock import frozen_at, now
from .diff import CHANGE_CODES, FACTS as CHANGE_FACTS, Change, diff_bundles
from .db import make_engine, make_session_factory, reading_engine, unit_of_work
from .errors import (Conflict, ForbiddenCode, InvalidBundle, InvalidData, NotFound, PasserelleError,
                     PermissionDenied, Problem, PROBLEM_CODES)
from .models import (ApiToken, AuditEvent, Directorate, HumanTask, Instance, Organisation, OutboxMessage,
                     ProcessFile, ProcessVersion, ProposedFile, ProposedVersion, StagedFile, StagedUpload, Timer,
                     User)
from .org import DEMO_ORGANISATION, ROLES, find_user, load_organisation, load_organisation_file, manager_of
from .registry import (PROCESSES_DIR, Deployment, bundle_of, bundles_in, checksum, deploy, deploy_folder,
                       get_version, list_processes, running_counts, validate, versions_of)
from .staging import discard_staged_upload, get_staged_upload, purge_staged_uploads, stage_upload
from .review import AuthorStep, approve, get_proposed, pending_versions, reject, steps_assigned_to, submit
from .runtime import (cancel_instance, claim_task, complete_task, get_instance, get_task, release_task,
                      run_due_timers, start_instance)
from . import queries, visibility
from .credentials import (authenticate, check_password, hash_password, issue_token, revoke_token, revoke_tokens,
                          token_row)
from .validation import CODE_KINDS, validate_bundle
from .schema import is_current as schema_is_current, upgrade as upgrade_schema
from . import notifications
from .incidents import Incident, incidents, retry_incident
from .failures import failure_of, stored_failure
from .messages import CODES as MESSAGE_CODES, Message
from .mailer import SmtpSettings
from .timers import PassReport, WorkerSettings, run_worker
from .trail import audit_trail

__all__ = [
    # errors
    "PasserelleError", "NotFound", "PermissionDenied", "Conflict", "InvalidData", "InvalidBundle",
    "ForbiddenCode", "Problem", "PROBLEM_CODES",
    # storage
    "make_engine", "make_session_factory", "reading_engine", "unit_of_work", "upgrade_schema", "schema_is_current",
    # models
    "User", "Directorate", "Organisation", "ProcessVersion", "ProcessFile", "Instance", "HumanTask",
    "AuditEvent", "Timer", "OutboxMessage", "ApiToken", "ProposedVersion", "ProposedFile", "StagedUpload",
    "StagedFile",
    # organisation
    "load_organisation", "load_organisation_file", "find_user", "manager_of", "ROLES", "DEMO_ORGANISATION",
    # process definitions
    "deploy", "deploy_folder", "validate", "checksum", "get_version", "list_processes", "versions_of",
    "running_counts", "bundle_of", "Deployment", "PROCESSES_DIR", "diff_bundles", "Change",
    "CHANGE_CODES", "CHANGE_FACTS", "validate_bundle", "CODE_KINDS", "Bundle", "kind_of", "BPMN", "DMN", "bundles_in",
    # uploads checked, waiting for their uploader's confirmation
    "stage_upload", "get_staged_upload", "discard_staged_upload", "purge_staged_uploads",
    # four eyes on deploys
    "submit", "pending_versions", "get_proposed", "approve", "reject", "steps_assigned_to", "AuthorStep",
    # instances and tasks
    "start_instance", "complete_task", "claim_task", "release_task", "cancel_instance", "get_instance",
    "get_task", "run_due_timers",
    # reading: task lists, request lists, histories, audit search; what a task's reader sees
    "queries", "visibility",
    # the audit trail read whole, in batches, for an export
    "audit_trail",
    # credentials
    "authenticate", "hash_password", "check_password", "issue_token", "token_row", "revoke_token",
    "revoke_tokens",
    # audit and time
    "EventType", "EVENT_TYPES", "verify_audit", "Verification", "now", "frozen_at",
    # background work: the worker, outbox notifications, incidents
    "run_worker", "WorkerSettings", "SmtpSettings", "PassReport", "notifications", "incidents", "retry_incident",
    "Incident", "failure_of", "stored_failure",
    # what the engine tells a person: a code and its parameters, put into words by the web
    "Message", "MESSAGE_CODES",
]
