"""URL converters. Ids in URLs are database integers: one beyond what a column holds is simply
not found (404), instead of an overflow deep in the database driver."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` bounded to the positive range every database here stores."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app) -> None:
    app.url_map.converters["int"] = IdConverter
