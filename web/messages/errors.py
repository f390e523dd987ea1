"""The words of the engine's errors (`PasserelleError.said`): what a person is told when the engine
refuses — nothing found, not allowed, changed meanwhile, data not valid, an organisation file that
cannot be loaded, code the sandbox refused. `PAGE` for people (Flask-Babel, the request's
language), `API` the JSON API's English: what the API has always answered, byte for byte."""
from __future__ import annotations

from typing import Any, Callable

from flask_babel import gettext as _

Params = dict[str, Any]


def _listed(values: Any) -> str:
    return ", ".join(map(str, values)) if isinstance(values, (list, tuple)) else str(values)


def _no_incident(p: Params) -> str:
    if p.get("request") is not None:
        return _("No problem %(kind)s %(id)s in request no. %(request)s.", kind=p["kind"], id=p["id"],
                 request=p["request"])
    return _("No problem %(kind)s %(id)s.", kind=p["kind"], id=p["id"])


#: code -> its words for people, in the request's language
PAGE: dict[str, Callable[[Params], str]] = {
    # nothing to see
    "error.no_request": lambda p: _("There is no request no. %(id)s, or it is not one you can see.", id=p["id"]),
    "error.no_task": lambda p: _("There is no task no. %(id)s, or it is not one you can see.", id=p["id"]),
    "error.no_process": lambda p: (
        _("There is no process “%(key)s” version %(version)s.", key=p["key"], version=p["version"])
        if p.get("version") is not None else _("There is no process “%(key)s”.", key=p["key"])),
    "error.no_proposed_version": lambda p: _("There is no proposed version no. %(id)s.", id=p["id"]),
    "error.no_staged_upload": lambda p: _("These files are no longer waiting: send them again."),
    "error.no_incident": _no_incident,
    # not allowed
    "error.may_not_deploy": lambda p: _("Only process owners may deploy processes."),
    "error.may_not_decide_version": lambda p: _("Only process owners may decide on a proposed version."),
    "error.may_not_approve_version": lambda p: _("Only process owners may approve a version."),
    "error.may_not_see_proposals": lambda p: _("Only process owners may see proposed versions."),
    "error.may_not_check_files": lambda p: _("Only process owners may check process files."),
    "error.author_cannot_approve": lambda p: _("The author of a version cannot approve it: another process "
                                               "owner must."),
    "error.may_not_read_audit": lambda p: _("Only auditors and administrators read the audit."),
    "error.may_not_start": lambda p: _("You may not start this process."),
    "error.may_not_release": lambda p: _("Only the person who took this task may hand it back."),
    "error.may_not_cancel": lambda p: _("You may not cancel this request."),
    "error.may_not_cancel_approved": lambda p: _("You may no longer cancel this request: it has been approved."),
    "error.not_your_task": lambda p: _("This task is not yours to do."),
    "error.own_request": lambda p: _("You may not decide on a request that concerns you."),
    "error.may_not_retry": lambda p: _("Only HR and administrators may retry a problem."),
    # changed meanwhile
    "error.task_taken": lambda p: _("Someone else has just taken this task."),
    "error.task_not_waiting": lambda p: _("This task is no longer waiting."),
    "error.task_not_claimed": lambda p: _("Nobody has taken this task."),
    "error.task_already": lambda p: _("This task is already %(status)s.", status=p["status"]),
    "error.task_claimed_by": lambda p: _("%(user)s has taken this task.", user=p["user"]),
    "error.request_already": lambda p: _("This request is already %(status)s.", status=p["status"]),
    "error.changed_meanwhile": lambda p: _("Someone else changed this request at the same moment: reload it and "
                                           "try again."),
    "error.version_already": lambda p: _("This version was already %(status)s.", status=p["status"]),
    "error.incident_not_failed": lambda p: _("Problem %(kind)s %(id)s is %(status)s: there is nothing to retry.",
                                             kind=p["kind"], id=p["id"], status=p["status"]),
    "error.incident_request_ended": lambda p: _("The date %(id)s belongs to a request that has ended: it can "
                                                "never be reached.", id=p["id"]),
    # data not valid
    "error.fields_not_valid": lambda p: _("Some fields are not valid."),
    "error.data_not_object": lambda p: _("Send the answers of the form."),
    "error.data_keys_not_text": lambda p: _("The names of the fields must be text."),
    "error.fields_set_by_engine": lambda p: _("Passerelle fills in these fields itself."),
    "error.values_too_long": lambda p: _("Some answers are too long."),
    "error.reason_missing": lambda p: _("Give a reason."),
    "error.data_too_large": lambda p: _("The request would hold %(size)s KB of data, more than its %(limit)s KB.",
                                        size=p["size_kb"], limit=p["limit_kb"]),
    "error.value_not_storable": lambda p: _("The value of %(field)s cannot be stored.", field=p["field"]),
    "error.bad_incident_ref": lambda p: _("“%(ref)s” names no problem: write timer:<id> or message:<id>.",
                                          ref=p["ref"]),
    "error.unknown_incident_kind": lambda p: _("“%(kind)s” is not a kind of problem: choose a date (timer) or an "
                                               "e-mail (message).", kind=p["kind"]),
    "error.bundle_invalid": lambda p: _("%(count)s problem(s) in the uploaded files.", count=p["count"]),
    # the organisation file
    "org.not_yaml": lambda p: _("%(path)s is not a valid YAML file: %(detail)s", path=p["path"],
                                detail=p["detail"]),
    "org.not_mapping": lambda p: _("The organisation file must hold the keys directorates, organisations and "
                                   "users."),
    "org.entry_not_mapping": lambda p: _("%(section)s: each entry must have named keys, not %(entry)s.",
                                         section=p["section"], entry=p["entry"]),
    "org.entry_incomplete": lambda p: _("%(section)s: the entry %(entry)s has no %(missing)s.",
                                        section=p["section"], entry=p["entry"], missing=_listed(p["missing"])),
    "org.unknown_kind": lambda p: _("organisations: %(organisation)s: “%(kind)s” is not a kind of organisation.",
                                    organisation=p["organisation"], kind=p["kind"]),
    "org.unknown_roles": lambda p: _("users: %(user)s: these roles do not exist: %(roles)s.", user=p["user"],
                                     roles=_listed(p["roles"])),
    "org.unknown_status": lambda p: _("users: %(user)s: “%(status)s” is not an employment status.",
                                      user=p["user"], status=p["status"]),
    "org.one_of": lambda p: _("Choose one of: %(options)s.", options=_listed(p["options"])),
    "org.required": lambda p: _("Please fill in this field."),
    "org.not_a_role": lambda p: _("These roles do not exist: %(roles)s.", roles=_listed(p["roles"])),
    # the sandbox
    "sandbox.refused": lambda p: p["detail"],  # its own technical words, quoted as they are
    "sandbox.result_too_large": lambda p: _("the result is too large: more than %(limit)s bytes of data",
                                            limit=p["limit"]),
    "sandbox.data_too_large": lambda p: _("the result is too large: the script's data is more than %(limit)s "
                                          "bytes", limit=p["limit"]),
    "sandbox.too_slow": lambda p: _("the code ran for more than %(seconds)s s", seconds=p["seconds"]),
    "sandbox.crashed": lambda p: _("the code stopped its sandbox (%(detail)s): too deep, too large or too slow",
                                   detail=p["detail"]),
    "sandbox.too_much_memory": lambda p: _("the code used more than %(mib)s MiB of memory", mib=p["mib"]),
}


def _no_process(p: Params) -> str:
    return f"no process {p['key']!r}" + (f" version {p['version']}" if p.get("version") is not None else "")


def _no_incident_api(p: Params) -> str:
    return f"no {p['kind']} {p['id']}" + (f" in request {p['request']}" if p.get("request") is not None else "")


#: code -> the API's English (not translated: clients read it), as it always answered
API: dict[str, Callable[[Params], str]] = {
    "error.no_request": lambda p: f"no request {p['id']}",
    "error.no_task": lambda p: f"no task {p['id']}",
    "error.no_process": _no_process,
    "error.no_proposed_version": lambda p: f"no proposed version {p['id']}",
    "error.no_staged_upload": lambda p: "no such staged upload",
    "error.no_incident": _no_incident_api,
    "error.may_not_deploy": lambda p: "only process owners may deploy processes",
    "error.may_not_decide_version": lambda p: "only process owners may decide on a proposed version",
    "error.may_not_approve_version": lambda p: "only process owners may approve a version",
    "error.may_not_see_proposals": lambda p: "only process owners may see proposed versions",
    "error.may_not_check_files": lambda p: "only process owners may check process files",
    "error.author_cannot_approve": lambda p: "the author of a version cannot approve it: another process owner must",
    "error.may_not_read_audit": lambda p: "only auditors and administrators read the audit",
    "error.may_not_start": lambda p: "you may not start this process",
    "error.may_not_release": lambda p: "only the person who claimed this task may release it",
    "error.may_not_cancel": lambda p: "you may not cancel this request",
    "error.may_not_cancel_approved": lambda p: "you may not cancel this request any more: it has been approved",
    "error.not_your_task": lambda p: "this task is not yours to do",
    "error.own_request": lambda p: "you may not decide on a request that concerns you",
    "error.may_not_retry": lambda p: "only hr and admin may retry incidents",
    "error.task_taken": lambda p: "this task was just claimed by someone else",
    "error.task_not_waiting": lambda p: "this task is no longer waiting",
    "error.task_not_claimed": lambda p: "this task is not claimed",
    "error.task_already": lambda p: f"this task is already {p['status']}",
    "error.task_claimed_by": lambda p: f"this task is claimed by {p['user']}",
    "error.request_already": lambda p: f"this request is already {p['status']}",
    "error.changed_meanwhile": lambda p: "this request was changed by someone else at the same moment; reload and "
                                         "try again",
    "error.version_already": lambda p: f"this version was already {p['status']}",
    "error.incident_not_failed": lambda p: f"{p['kind']} {p['id']} is {p['status']}, not failed",
    "error.incident_request_ended": lambda p: f"timer {p['id']} belongs to a request that has ended: it can never "
                                              "fire",
    "error.fields_not_valid": lambda p: "some fields are not valid",
    "error.data_not_object": lambda p: "the data must be an object of field values",
    "error.data_keys_not_text": lambda p: "data keys must be strings",
    "error.fields_set_by_engine": lambda p: "these fields are set by the engine",
    "error.values_too_long": lambda p: "some values are too long",
    "error.reason_missing": lambda p: "give a reason",
    "error.data_too_large": lambda p: f"the request would hold {p['size_kb']} KB of data, more than its "
                                      f"{p['limit_kb']} KB",
    "error.value_not_storable": lambda p: f"the value of {p['field']} cannot be stored",
    "error.bad_incident_ref": lambda p: f"an incident is named timer:<id> or message:<id>, not {p['ref']!r}",
    "error.unknown_incident_kind": lambda p: f"unknown incident kind {p['kind']!r}",
    "error.bundle_invalid": lambda p: f"{p['count']} problem(s) in the uploaded files",
    "org.not_yaml": lambda p: f"{p['path']}: not valid YAML: {p['detail']}",
    "org.not_mapping": lambda p: "the organisation file must be a mapping with keys directorates, organisations, "
                                 "users",
    "org.entry_not_mapping": lambda p: f"{p['section']}: each entry must be a mapping, got {p['entry']}",
    "org.entry_incomplete": lambda p: f"{p['section']}: entry {p['entry']} lacks {_listed(p['missing'])}",
    "org.unknown_kind": lambda p: f"organisations: {p['organisation']}: unknown kind {p['kind']!r}",
    "org.unknown_roles": lambda p: f"users: {p['user']}: unknown roles {list(p['roles'])}",
    "org.unknown_status": lambda p: f"users: {p['user']}: unknown employment_status {p['status']!r}",
    "org.one_of": lambda p: f"one of {_listed(p['options'])}",
    "org.required": lambda p: "required",
    "org.not_a_role": lambda p: f"unknown: {list(p['roles'])}",
    "sandbox.refused": lambda p: str(p["detail"]),
    "sandbox.result_too_large": lambda p: f"result too large: more than {p['limit']} bytes of data",
    "sandbox.data_too_large": lambda p: f"result too large: the script's data is more than {p['limit']} bytes "
                                        f"(the limit is {p['limit']})",
    "sandbox.too_slow": lambda p: f"evaluation exceeded {p['seconds']} s",
    "sandbox.crashed": lambda p: f"evaluation crashed its sandbox process ({p['detail']}): too deep, too large or "
                                 "too slow",
    "sandbox.too_much_memory": lambda p: f"evaluation used more than {p['mib']} MiB of memory",
}
