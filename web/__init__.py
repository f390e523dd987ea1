"""Passerelle's web shell: HTML pages for people and a JSON API, over the engine."""
from __future__ import annotations

from flask import Flask

from . import config, db


class App(Flask):
    """Flask, with every view run as the request's one unit of work (`web.db.run_unit_of_work`):
    pages, the API and anything else routed, with no view or blueprint left to remember it."""

    def dispatch_request(self):
        return db.run_unit_of_work(super().dispatch_request)


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory. `test_config` overrides settings (tests, tools)."""
    app = App(__name__, instance_relative_config=True)
    config.load(app, test_config)
    from . import converters
    converters.init_app(app)  # before any blueprint declares a route
    db.init_app(app)
    from . import security
    security.init_app(app)
    from . import health
    health.init_app(app)
    from .api import init_app as init_api
    init_api(app)
    from .pages import init_app as init_pages
    init_pages(app)
    return app
