"""Languages: French by default, English available.

The person's own choice (the language control, kept in the session cookie) wins; otherwise the
browser's Accept-Language picks among the available languages; otherwise French. Catalogues
live in web/translations/<lang>/LC_MESSAGES/messages.po and are committed compiled (.mo), so a
clean checkout works with `pip install -e .` alone (tests/web/test_pages_i18n.py checks the .mo
files match the .po files).
"""
from __future__ import annotations

from flask import current_app, request, session
from flask_babel import Babel, get_locale

babel = Babel()

#: The names of the languages, each written in itself (shown in the language control).
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def select_locale() -> str:
    languages = list(current_app.config["LANGUAGES"])
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages, default=current_app.config["BABEL_DEFAULT_LOCALE"])


def current_language() -> str:
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]).split("_")[0]


def choose(language: str) -> bool:
    """Remember `language` for this browser; False if it is not one we offer."""
    if language not in current_app.config["LANGUAGES"]:
        return False
    session["lang"] = language
    session.permanent = True
    return True


def init_app(app) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(current_language=current_language, LANGUAGE_NAMES=LANGUAGE_NAMES)
