"""Signing in and out, and choosing the language."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine import sign_in

from .. import db, i18n
from ..security import LoginUser, current_actor, end_sessions, throttle_sign_in

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter your username.")), Length(max=64)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"})
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


def safe_target(target: str | None, default: str) -> str:
    """Only local paths: never send someone to another site after signing in. Browsers drop tabs
    and newlines from an address and read a backslash as a slash, so "/<tab>/evil.example" would be
    "//evil.example": no whitespace, control character or backslash at all."""
    if (target and target.startswith("/") and not target.startswith("//")
            and not any(c.isspace() or not c.isprintable() or c == "\\" for c in target)):
        return target
    return default


@bp.route("/login", methods=["GET", "POST"])
@throttle_sign_in(lambda: request.form.get("username"))
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tasks.home"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        session = db.session()
        username = form.username.data.strip()
        user = sign_in(session, username, form.password.data, via="web", address=request.remote_addr)
        if user is not None:
            db.after_commit(login_user, LoginUser(user))
            return redirect(safe_target(form.next.data, url_for("tasks.home")), 303)
        db.keep()  # the failed attempt stays on record although the answer is an error
        form.password.errors = [_("This username and password do not match. Check them and try again.")]
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    end_sessions(current_actor())
    db.after_commit(logout_user)
    db.after_commit(flash, _("You are signed out."), "success")
    return redirect(url_for("auth.login"), 303)


@bp.post("/language")
def language():
    chosen = request.form.get("lang", "")
    if not i18n.choose(chosen):
        return redirect(url_for("tasks.home"), 303)
    return redirect(safe_target(request.form.get("next"), url_for("tasks.home")), 303)
