"""Which page of a long list a person asked for. A page that does not exist answers 404 and says
so: never a database error (a page number whose offset overflows) nor a silently empty list."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from engine import Page

MAX_PAGE = 1_000_000  # the API's bound too (web/api/schemas.py)


class NoSuchPage(NotFound):
    def __init__(self):
        super().__init__()
        self.page_detail = _("This list has no such page. Go back to its first page.")


def page_number() -> int:
    """The page asked for in the query string, 1 if none; NoSuchPage unless a whole number from 1 to
    MAX_PAGE."""
    raw = request.args.get("page", "").strip() or "1"
    if len(raw) > len(str(MAX_PAGE)) or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise NoSuchPage()
    return int(raw)


def existing(found: Page) -> Page:
    """`found`, unless it lies past the end of its list (the first page always exists, even empty)."""
    if found.page > 1 and (found.page - 1) * found.page_size >= found.total:
        raise NoSuchPage()
    return found
