"""Sign-in sessions, CSRF, throttling and security headers for every response."""
from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import User, revoke_tokens

from . import db

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)

PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
# Diagrams are SVG documents with an inline stylesheet and never any script.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


class LoginUser:
    """Flask-Login's view of an engine User (the engine's model stays free of Flask)."""

    def __init__(self, user: User):
        self.user = user
        self.is_authenticated = True
        self.is_active = user.active
        self.is_anonymous = False

    def get_id(self) -> str:
        # Flask-Login's "alternative id": signing out bumps the version, revoking every copy.
        return f"{self.user.id}:{self.user.session_version or 0}"


def init_app(app) -> None:
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:  # each person's own address, for throttling and the audit trail
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    csrf.init_app(app)
    limiter.init_app(app)
    app.after_request(_headers)


@login_manager.user_loader
def _load_user(user_id: str):
    ident, _, version = str(user_id).partition(":")
    try:
        user = db.session().get(User, int(ident))
        version = int(version)
    except (TypeError, ValueError):
        return None
    if user is None or not user.active or (user.session_version or 0) != version:
        return None
    return LoginUser(user)


def end_sessions(user: User) -> None:
    """Sign `user` out everywhere: sessions issued before this (and copies of them) and every API
    token stop working."""
    user.session_version = (user.session_version or 0) + 1
    revoke_tokens(db.session(), user)


# --- sign-in throttling: one set of buckets for the pages and the API ------------------------------

def sign_in_name(username) -> str:
    """The account an attempt counts against, spelt as sign-in reads it (" Claire" is claire)."""
    return str(username or "").strip().lower()[:64]


def throttle_sign_in(username_of: Callable[[], object]):
    """Decorate a sign-in view with the sign-in limits, shared by every view so decorated: failed
    attempts count per account *and* address together (guessing from one place never locks the
    person out from another), per address (one place trying many accounts) and, with a higher
    ceiling, per account from anywhere (guessing spread over many places). Only failures count;
    a refused (429) attempt does not, or one address could push an account over its ceiling."""
    def account() -> str:
        return "account:" + sign_in_name(username_of())

    def address() -> str:
        return "address:" + get_remote_address()

    def account_at_address() -> str:
        return account() + "@" + get_remote_address()

    buckets = (("sign-in-account", account, _account_limit), ("sign-in-address", address, _login_limit),
               ("sign-in-account-address", account_at_address, _login_limit))

    def decorate(view):
        for scope, key, limit in buckets:
            view = limiter.shared_limit(limit, scope=scope, key_func=key, methods=["POST"],
                                        deduct_when=_attempt_failed)(view)
        return view
    return decorate


def _login_limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_LIMIT"]


def _attempt_failed(response) -> bool:
    return response.status_code >= 400 and response.status_code != 429


def current_actor() -> User | None:
    """The engine User acting in this request: API token holder, or signed-in person."""
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user
    if current_user and current_user.is_authenticated:
        return current_user.user
    return None


def _headers(response):
    svg = response.mimetype == "image/svg+xml"
    response.headers.setdefault("Content-Security-Policy", SVG_CSP if svg else PAGE_CSP)
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN" if svg else "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Pages and API answers show personal data: no copy in the browser's or a proxy's cache (a
    # shared computer's Back button included). Static files and views that say otherwise keep theirs.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
