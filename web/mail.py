"""The words of the e-mails the engine queues: one template per kind in web/templates/mail/ (the
body, with the subject in `{% set subject %}`), rendered in the recipient's language with the
pages' catalogues.

The engine calls `MailTexts` through `engine.notifications.configure(renderer=...)`, inside a
request or in `passerelle worker` alike: rendering needs no request nor application context.
Links are written `{base_url}/...`; the mailer puts the site's address (PASSERELLE_BASE_URL) there.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from engine import notifications

WEB = Path(__file__).resolve().parent
#: a date in a message, by language (French: what people have always received)
DATE_FORMATS = {"fr": "dd/MM/yyyy"}


class MailTexts:
    """(subject, body) of a message, in `language` (people have no language of their own yet:
    every recipient gets MAIL_LANGUAGE)."""

    def __init__(self, language: str = "fr"):
        self.language = language

    def __call__(self, kind: str, params: Mapping[str, object], recipient: str) -> tuple[str, str]:
        template = _environment(self.language).get_template(f"{kind}.txt")
        module = template.make_module({**params, "base_url": notifications.BASE_URL,
                                       "day": lambda value: _day(value, self.language)})
        return " ".join(str(module.subject).split()), str(module)


def _day(value: object, language: str) -> str:
    if not isinstance(value, date):
        return str(value or "")
    return format_date(value, DATE_FORMATS.get(language, "long"), locale=language)


@lru_cache(maxsize=8)
def _environment(language: str) -> Environment:
    environment = Environment(loader=FileSystemLoader(WEB / "templates" / "mail"), extensions=["jinja2.ext.i18n"],
                              autoescape=False, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=StrictUndefined)
    translations = (Translations.load(WEB / "translations", [language]) if language != "en"
                    else NullTranslations())
    environment.install_gettext_translations(translations, newstyle=True)
    return environment
