"""The `passerelle` command, built on Flask's CLI."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from engine import (InvalidBundle, InvalidData, deploy, load_organisation_file, unit_of_work, upgrade_schema)
from engine.registry import bundles_in


def _create_app():
    from . import create_app
    return create_app()


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
    upgrade_schema(current_app.extensions["passerelle.db"])
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
        raise click.ClickException(err.message) from None
    click.echo(f"loaded {counts['users']} users ({counts['deactivated']} deactivated), "
               f"{counts['directorates']} directorates, {counts['organisations']} organisations")


@main.command("deploy")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--comment", default="", help="Why this version.")
@click.option("--actor", default="system", help="Recorded as the deployer.")
@with_appcontext
def deploy_command(paths, comment, actor):
    """Deploy process bundles: folders (one bundle per sub-folder) or a .bpmn with its .dmn files."""
    bundles: dict[str, dict[str, bytes]] = {}
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
                click.echo(f"{p.file}:{p.line or '-'}: {p.element or ''} {p.message}", err=True)
            continue
        click.echo(f"{name}: {'deployed' if result.created else 'unchanged'} {label}")
    if failed:
        sys.exit(1)


@main.command("run")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--debug/--no-debug", default=False)
def run_command(host, port, debug):
    """Start the web server on the embedded default (SQLite, demo data when empty)."""
    app = _create_app()
    click.echo(f"Passerelle on http://{host}:{port}/  (database: {app.config['DATABASE_URL']})")
    app.run(host=host, port=port, debug=debug, use_reloader=False, threaded=True)
