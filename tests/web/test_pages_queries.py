"""Lists cost a few SQL queries whatever their length, and never load a workflow."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from engine import spiff

from .page_client import Person, open_task, start_support_mission


@contextmanager
def counted(app):
    statements = []
    engine = app.extensions["passerelle.db"]

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize("username, url", [("luc", "/"), ("nadia", "/requests"), ("antoine", "/audit")])
def test_list_pages_do_not_grow_with_the_list(app, username, url):
    nadia = Person(app.test_client(), "nadia")
    start_support_mission(nadia)
    person = Person(app.test_client(), username)
    with counted(app) as few:
        person.page(url)
    for _ in range(4):
        start_support_mission(nadia)
    with counted(app) as many:
        person.page(url)
    assert len(many) == len(few), many
    assert len(many) <= 12, many


def test_lists_request_and_task_pages_never_load_a_workflow(app, monkeypatch):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    task_id = open_task(app, "luc", "coordinator_review")
    luc = Person(app.test_client(), "luc")

    def refuse(*args, **kwargs):
        raise AssertionError("a page loaded a workflow")

    monkeypatch.setattr(spiff, "load_state", refuse)
    for url in ("/", "/requests", f"/requests/{instance_id}", f"/tasks/{task_id}"):
        luc.page(url)
