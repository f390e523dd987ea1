"""Passerelle's workflow engine: BPMN processes run by SpiffWorkflow, persisted with SQLAlchemy.

This package never imports Flask: the web layer, the command line, the worker and the tests all
use the same functions, each taking an explicit Session and acting user. Callers own the
transaction (see `engine.db.unit_of_work`).

`__all__` is the whole surface the web layer uses: web/ imports no engine submodule
(tests/web/test_engine_surface.py), and the engine checks permissions itself.
"""
from .bundle import BPMN, DMN, Bundle, kind_of
from .audit import EVENT_TYPES, verify as verify_audit
from .clock import frozen_at, now
from .diff import CHANGE_CODES, FACTS as CHANGE_FACTS, Change, diff_bundles
from .db import make_engine, make_session_factory, reading_engine, unit_of_work
from .errors import (Conflict, ForbiddenCode, InvalidBundle, InvalidData, NotFound, PasserelleError,
                     PermissionDenied, Problem, PROBLEM_CODES)
from .models import (AuditEvent, HumanTask, Instance, OutboxMessage, ProcessVersion, ProposedVersion, StagedFile,
                     StagedUpload, User)
from .org import DEMO_ORGANISATION, find_user, load_organisation, load_organisation_file
from .registry import (PROCESSES_DIR, bundle_of, bundles_in, checksum, deploy, deploy_folder, get_version,
                       list_processes, running_counts, validate, versions_of)
from .staging import discard_staged_upload, get_staged_upload, stage_upload
from .review import (approve, bundle_of as proposed_bundle, get_proposed, pending_versions, reject, steps_assigned_to,
                     submit)
from .runtime import (cancel_instance, claim_task, complete_task, get_instance, get_task, release_task,
                      run_due_timers, start_instance)
from . import permissions, queries, visibility
from . import register
from .phases import PHASES, effective as phase_today
from .queries import Page
from .credentials import issue_token, revoke_token, revoke_tokens, sign_in, token_row
from .validation import CODE_KINDS, validate_bundle
from .schema import is_current as schema_is_current, setup_lock, upgrade as upgrade_schema
from . import notifications
from .incidents import Incident, incidents, parse_ref as parse_incident_ref, retry_incident
from .failures import failure_of, stored_failure
from .messages import CODES as MESSAGE_CODES, Message
from .mailer import SmtpSettings
from .timers import WorkerSettings, run_worker
from .trail import audit_trail, check_audit_chain, search_audit
from .xml import BPMN_NS, BPMNDI_NS, DC_NS, DI_NS, is_bpmn, parse_xml
from .sandbox import Limits as SandboxLimits, configure as configure_sandbox
from .values import Limits as DataLimits, configure as configure_data_limits
from .workflow_cache import configure as configure_workflow_cache
from .demo import is_new_demo_database, seed_requests as seed_demo_requests

__all__ = [
    # errors
    "PasserelleError", "NotFound", "PermissionDenied", "Conflict", "InvalidData", "InvalidBundle",
    "ForbiddenCode", "Problem", "PROBLEM_CODES",
    # storage
    "make_engine", "make_session_factory", "reading_engine", "unit_of_work", "upgrade_schema", "schema_is_current",
    "setup_lock",
    # limits set once at start-up: scripts of diagrams, data of requests, loaded workflows kept
    "configure_sandbox", "SandboxLimits", "configure_data_limits", "DataLimits", "configure_workflow_cache",
    # models
    "User", "ProcessVersion", "Instance", "HumanTask", "AuditEvent", "OutboxMessage", "ProposedVersion",
    "StagedUpload", "StagedFile",
    # organisation
    "load_organisation", "load_organisation_file", "find_user", "DEMO_ORGANISATION",
    # process definitions
    "deploy", "deploy_folder", "validate", "checksum", "get_version", "list_processes", "versions_of",
    "running_counts", "bundle_of", "PROCESSES_DIR", "diff_bundles", "Change",
    "CHANGE_CODES", "CHANGE_FACTS", "validate_bundle", "CODE_KINDS", "Bundle", "kind_of", "BPMN", "DMN", "bundles_in",
    # uploads checked, waiting for their uploader's confirmation
    "stage_upload", "get_staged_upload", "discard_staged_upload",
    # four eyes on deploys
    "submit", "pending_versions", "get_proposed", "approve", "reject", "steps_assigned_to", "proposed_bundle",
    # instances and tasks
    "start_instance", "complete_task", "claim_task", "release_task", "cancel_instance", "get_instance",
    "get_task", "run_due_timers",
    # reading: task lists, request lists, histories, audit search, people by username, what requests
    # wait for (a paginated answer is a Page); who may do what; what a task's reader sees
    "queries", "Page", "permissions", "visibility",
    # the mission register (missions a reader may see, filtered, sorted, exported) and the phases
    # of a mission's life
    "register", "PHASES", "phase_today",
    # reading the audit (auditors, administrators): a search, the chains checked, the trail read whole
    # in batches for an export
    "search_audit", "check_audit_chain", "audit_trail",
    # signing in (audited), API tokens
    "sign_in", "issue_token", "token_row", "revoke_token", "revoke_tokens",
    # audit and time
    "EVENT_TYPES", "verify_audit", "now", "frozen_at",
    # background work: the worker, outbox notifications, incidents
    "run_worker", "WorkerSettings", "SmtpSettings", "notifications", "incidents", "retry_incident",
    "Incident", "parse_incident_ref", "failure_of", "stored_failure",
    # diagram XML, parsed safely (the web draws diagrams and reads their documentation)
    "parse_xml", "is_bpmn", "BPMN_NS", "BPMNDI_NS", "DC_NS", "DI_NS",
    # the demonstration: requests at several stages in a new demo database
    "is_new_demo_database", "seed_demo_requests",
    # what the engine tells a person: a code and its parameters, put into words by the web
    "Message", "MESSAGE_CODES",
]
