"""Every setting, declared once with its default. Override with environment variables prefixed
`PASSERELLE_` (e.g. `PASSERELLE_SECRET_KEY`); `DATABASE_URL` is read as is."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

# development | production. Production refuses to start without a secret key and a database URL.
ENV = "development"
# Signs sessions and CSRF tokens. Generated into the instance folder in development.
SECRET_KEY = None
# SQLAlchemy URL; default: SQLite file passerelle.sqlite in the Flask instance folder.
DATABASE_URL = None
# Apply migrations, deploy processes/ and load the demo organisation (if empty) at start-up.
# In production the schema is never migrated at start-up (run `passerelle db upgrade` first):
# the server refuses to start on an outdated schema, and only deploys processes/.
AUTO_SETUP = True
# Load the demo organisation into an empty database during AUTO_SETUP (never in production
# unless PASSERELLE_DEMO_DATA=true is set explicitly).
DEMO_DATA = True
# Live workflows each server process keeps between the steps of a request (0: none). Saves
# rebuilding a workflow from its saved state; a few tens of kilobytes each.
WORKFLOW_CACHE_SIZE = 256
# Diagram code (engine/sandbox): seconds one evaluation may run; bytes of JSON one evaluation may
# hand back (a value repeated counts each time); sandbox processes kept ready in each server or
# worker process, and the memory (MiB of address space) each may use; how far ahead, in days, a
# timer may lie (deploy and run time).
SANDBOX_TIME_LIMIT = 1.0
SANDBOX_RESULT_BYTES = 1_000_000
SANDBOX_PROCESSES = 2
SANDBOX_MEMORY_MB = 512
TIMER_HORIZON_DAYS = 3653
# Four eyes on deploys: a version a process owner uploads (page or API) waits until another
# process owner or an administrator approves it. On by default in production; `passerelle deploy`
# and processes/ at start-up deploy directly either way.
FOUR_EYES_DEPLOY = False
# Hours uploaded files, checked and compared, wait in the database for their uploader to confirm
# (deploy or propose) or discard them; older ones are deleted at the next upload or worker pass.
STAGED_UPLOAD_HOURS = 24
# What one request may hold: its data, serialized, in KiB (a form or a step that would go over it
# is refused or fails the request), and the instances one multi-instance task may create.
REQUEST_DATA_KB = 256
MULTI_INSTANCE_LIMIT = 200
# Largest request body (uploads of BPMN bundles included).
MAX_CONTENT_LENGTH = 4 * 1024 * 1024
# Lifetime of API tokens, in hours.
API_TOKEN_HOURS = 12
# Cookies: HttpOnly always; Secure when served over HTTPS (set true in production).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False
REMEMBER_COOKIE_HTTPONLY = True
# Language: French by default, English available.
BABEL_DEFAULT_LOCALE = "fr"
LANGUAGES = ("fr", "en")
# Dates and times on pages are shown in this time zone (stored in UTC).
BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
# Sign-in throttling (Flask-Limiter syntax), for the pages and the API together: failed attempts
# per account from one address, and per address whatever the account.
LOGIN_LIMIT = "10 per minute"
# Failed attempts per account from all addresses together (guessing spread over many places). Keep
# it above twice LOGIN_LIMIT, so that one address alone can never lock a person out.
LOGIN_ACCOUNT_LIMIT = "50 per minute"
RATELIMIT_STORAGE_URI = "memory://"
# Reverse proxies (load balancers) in front of the servers whose X-Forwarded-For header to trust.
# 0 ignores the header (anyone can send it); behind one load balancer set 1, or sign-in throttling
# and the audit trail see the balancer's address instead of each person's.
TRUSTED_PROXIES = 0
# Public URL of the site, used in e-mail links.
BASE_URL = "http://127.0.0.1:5000"
# SMTP for notifications (sent by `passerelle worker`).
SMTP_HOST = "localhost"
SMTP_PORT = 25
SMTP_USER = None
SMTP_PASSWORD = None
SMTP_STARTTLS = False
MAIL_FROM = "passerelle@localhost"
# The language e-mails are written in (one of LANGUAGES): people have no language of their own yet.
MAIL_LANGUAGE = "fr"
# Worker: seconds between polls; attempts before a job becomes an incident; wait before the
# first retry (doubled at each attempt, at most WORKER_BACKOFF_MAX_SECONDS).
WORKER_POLL_SECONDS = 5
WORKER_MAX_ATTEMPTS = 5
WORKER_BACKOFF_SECONDS = 300
WORKER_BACKOFF_MAX_SECONDS = 6 * 3600
# Notifications: remind people of a task this many hours before it is due (0: never); candidate
# groups whose members are not mailed when a task is offered to the whole group (everyone is an agent).
REMINDER_HOURS = 24
NOTIFY_SKIP_GROUPS = ("agent",)
# flask-smorest / OpenAPI
API_TITLE = "Passerelle API"
API_VERSION = "v1"
OPENAPI_VERSION = "3.0.3"
OPENAPI_URL_PREFIX = "/api"
OPENAPI_JSON_PATH = "openapi.json"


def load(app, test_config: dict | None) -> None:
    """Fill `app.config` from this module, the environment, then `test_config`."""
    app.config.from_object(__name__)
    app.config.from_prefixed_env("PASSERELLE")
    if os.environ.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if test_config:
        app.config.update(test_config)
    if app.config["MAIL_LANGUAGE"] not in app.config["LANGUAGES"]:
        raise RuntimeError(f"PASSERELLE_MAIL_LANGUAGE must be one of {', '.join(app.config['LANGUAGES'])}, "
                           f"not {app.config['MAIL_LANGUAGE']!r}")
    instance = Path(app.instance_path)
    if app.config["ENV"] == "production":
        _production_defaults(app, test_config or {})
    if not app.config["DATABASE_URL"]:
        instance.mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'passerelle.sqlite'}"
    if not app.config["SECRET_KEY"]:
        if app.config["ENV"] == "production":
            raise RuntimeError("PASSERELLE_SECRET_KEY must be set in production")
        instance.mkdir(parents=True, exist_ok=True)
        key_file = instance / "secret_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        app.config["SECRET_KEY"] = key_file.read_text().strip()
    elif app.config["ENV"] == "production" and len(str(app.config["SECRET_KEY"])) < 32:
        raise RuntimeError("PASSERELLE_SECRET_KEY must be at least 32 characters in production")


def _production_defaults(app, test_config: dict) -> None:
    """Production refuses to start half-configured, and picks safe defaults for what is unset."""
    explicit = set(test_config) | {k.removeprefix("PASSERELLE_") for k in os.environ if k.startswith("PASSERELLE_")}
    if not app.config["DATABASE_URL"]:
        raise RuntimeError("production mode (PASSERELLE_ENV=production) needs DATABASE_URL, e.g. "
                           "postgresql+psycopg://user:password@host/passerelle")
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("production mode (PASSERELLE_ENV=production) needs PASSERELLE_SECRET_KEY: "
                           "a random string of at least 32 characters, the same for every server process "
                           "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')")
    if "SESSION_COOKIE_SECURE" not in explicit:
        app.config["SESSION_COOKIE_SECURE"] = True
    if "REMEMBER_COOKIE_SECURE" not in explicit:
        app.config["REMEMBER_COOKIE_SECURE"] = True
    if "DEMO_DATA" not in explicit:
        app.config["DEMO_DATA"] = False
    if "FOUR_EYES_DEPLOY" not in explicit:
        app.config["FOUR_EYES_DEPLOY"] = True
