"""Passerelle's web shell: HTML pages for people and a JSON API, over the engine."""
from __future__ import annotations

from flask import Flask
from jinja2 import BytecodeCache

from . import config, db


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, shared by every app the process creates (the test suite
    creates one per test; each would otherwise parse and compile every template it renders again).
    Jinja keys each entry by the template's name and a checksum of its source, so an edited
    template is compiled again."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


class App(Flask):
    """Flask, with every view run as the request's one unit of work (`web.db.run_unit_of_work`):
    pages, the API and anything else routed, with no view or blueprint left to remember it."""

    jinja_options = {**Flask.jinja_options, "trim_blocks": True, "lstrip_blocks": True,
                     "bytecode_cache": COMPILED_TEMPLATES}

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
