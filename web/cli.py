"""The `passerelle` command, built on Flask's CLI."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from engine import (InvalidBundle, InvalidData, bundles_in, deploy, load_organisation_file, setup_lock, unit_of_work,
                    upgrade_schema)

from .messages import api_text, say


def _in_english(said) -> str:
    """What the engine said, in words, in the command line's language: English."""
    from flask_babel import force_locale
    with force_locale("en"):
        return say(said)


def _create_app_without_setup():
    from . import create_app
    return create_app({"AUTO_SETUP": False})


@click.group(cls=FlaskGroup, create_app=_create_app_without_setup, add_default_commands=False)
def main():
    """Passerelle: micro-mobility missions as BPMN approval processes."""


@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply the migrations (idempotent)."""
    engine = current_app.extensions["passerelle.db"]
    with setup_lock(engine):  # servers starting at the same moment wait for it
        upgrade_schema(engine)
    click.echo("database schema is up to date")


@main.group()
def org():
    """The organisation: people, directorates, host organisations."""


@org.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def org_load(path):
    """Load (upsert) an organisation YAML file."""
    try:
        with unit_of_work(current_app.extensions["passerelle.sessions"]) as session:
            counts = load_organisation_file(session, path)
    except InvalidData as err:
        raise click.ClickException(_in_english(err.said)) from None
    click.echo(f"loaded {counts['users']} users ({counts['deactivated']} deactivated), "
               f"{counts['directorates']} directorates, {counts['organisations']} organisations")


@main.command("deploy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--comment", default="", help="Why this version.")
@click.option("--actor", default="system", help="Recorded as the deployer.")
@with_appcontext
def deploy_command(paths, comment, actor):
    """Deploy process bundles: folders (one bundle per sub-folder) or a .bpmn with its .dmn files."""
    bundles: dict[str, Mapping[str, bytes]] = {}
    loose = [Path(p) for p in paths if Path(p).is_file()]
    for path in (Path(p) for p in paths if Path(p).is_dir()):
        bundles.update(bundles_in(path))
    if loose:
        bundles["<files>"] = {p.name: p.read_bytes() for p in loose}
    failed = False
    for name, files in bundles.items():
        try:
            with unit_of_work(current_app.extensions["passerelle.sessions"]) as session:
                result = deploy(session, files, actor, comment)
                label = f"{result.version.process_key} v{result.version.version}"
        except InvalidBundle as err:
            failed = True
            for p in err.problems:
                click.echo(f"{p.file}:{p.line or '-'}: {p.element or ''} {_in_english(p)}", err=True)
            continue
        click.echo(f"{name}: {'deployed' if result.created else 'unchanged'} {label}")
    if failed:
        sys.exit(1)


@main.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--debug/--no-debug", default=False)
@with_appcontext
def run_command(host, port, debug):
    """Start the web server on the embedded default (SQLite, demo data when empty)."""
    from .db import setup
    app = current_app._get_current_object()
    setup(app)
    if app.config["DEMO_DATA"]:
        _seed_demo_requests(app)
    click.echo(f"Passerelle on http://{host}:{port}/  (database: {app.config['DATABASE_URL']})")
    # app.run() refuses to block inside the flask CLI; serve with Werkzeug directly.
    from werkzeug.serving import run_simple
    app.debug = debug
    run_simple(host, port, app, use_reloader=False, use_debugger=debug, threaded=True)


# --- background work (engine/timers.py) -----------------------------------------------------------

def _worker_settings(config):
    from engine import SmtpSettings, WorkerSettings
    smtp = SmtpSettings(host=config["SMTP_HOST"], port=int(config["SMTP_PORT"]), user=config["SMTP_USER"] or None,
                        password=config["SMTP_PASSWORD"] or None, starttls=bool(config["SMTP_STARTTLS"]),
                        sender=config["MAIL_FROM"], base_url=config["BASE_URL"])
    return WorkerSettings(smtp=smtp, max_attempts=int(config["WORKER_MAX_ATTEMPTS"]),
                          backoff_seconds=float(config["WORKER_BACKOFF_SECONDS"]),
                          backoff_max_seconds=float(config["WORKER_BACKOFF_MAX_SECONDS"]),
                          reminder_hours=float(config["REMINDER_HOURS"]),
                          staged_upload_hours=float(config["STAGED_UPLOAD_HOURS"]),
                          poll_seconds=float(config["WORKER_POLL_SECONDS"]))


def _parse_moment(_ctx, _param, value):
    if value is None:
        return None
    from datetime import datetime, timezone
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date and time, e.g. 2027-06-30T09:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@main.command("worker")
@click.option("--once", is_flag=True, help="Do one pass (fire what is due, send what is queued), then exit.")
@click.option("--now", callback=_parse_moment, metavar="ISO",
              help="With --once: act as if it were this moment (UTC unless an offset is given).")
@with_appcontext
def worker_command(once, now):
    """Fire due timers, send queued mail, queue reminders, retry failures; until SIGTERM or Ctrl-C."""
    import logging
    import signal
    import threading

    from engine import run_worker
    if now is not None and not once:
        raise click.UsageError("--now only makes sense with --once")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set())  # finish the job at hand, then exit
                for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        report = run_worker(current_app.extensions["passerelle.sessions"], _worker_settings(current_app.config),
                            once=once, now=now, stop=stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if once:
        click.echo(str(report))


@main.group("incidents", invoke_without_command=True)
@click.option("--request", "instance_id", type=int, help="Only the incidents of this request.")
@with_appcontext
def incidents_command(instance_id):
    """Background jobs that kept failing (timers, mail): list them, or `retry` one."""
    if click.get_current_context().invoked_subcommand is not None:
        return
    from engine import incidents
    with unit_of_work(current_app.extensions["passerelle.sessions"]) as session:
        found = incidents(session, instance_id)
    for incident in found:
        request = f"request {incident.instance_id}" if incident.instance_id else "no request"
        click.echo(f"{incident.ref}\t{request}\t{incident.what}\t{incident.attempts} attempt(s)\t"
                   f"{api_text(incident.cause) or ''}")
    click.echo(f"{len(found)} incident(s)", err=True)


@incidents_command.command("retry")
@click.argument("ref")
@click.option("--actor", required=True, help="Username of the hr or admin person retrying (audited).")
@with_appcontext
def incidents_retry(ref, actor):
    """Re-arm incident REF (timer:<id> or message:<id>): the next worker pass tries it again."""
    from engine import PasserelleError, find_user, parse_incident_ref, retry_incident
    try:
        with unit_of_work(current_app.extensions["passerelle.sessions"]) as session:
            user = find_user(session, actor)
            if user is None:
                raise click.ClickException(f"no active user {actor!r}")
            incident = retry_incident(session, *parse_incident_ref(ref), user)
    except PasserelleError as err:
        raise click.ClickException(_in_english(err.said)) from None
    click.echo(f"{incident.ref} re-armed; the next worker pass will try it again")


def _seed_demo_requests(app) -> None:
    """A first run shows requests at several stages, not empty pages: only into a database that
    holds the demo organisation and no request yet (never into an organisation of one's own)."""
    from engine import is_new_demo_database, seed_demo_requests
    with unit_of_work(app.extensions["passerelle.sessions"]) as session:
        if is_new_demo_database(session):
            click.echo(f"demo: {seed_demo_requests(session)} requests started at various stages")
