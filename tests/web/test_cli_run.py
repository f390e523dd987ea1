"""`passerelle run` as a new user runs it: on an organisation of one's own, or on the demo."""
from __future__ import annotations

import os
import time

import requests
from sqlalchemy import func, select

from engine import make_engine, make_session_factory
from engine.models import Instance, User
from tests.support.servers import BIN, Process, passerelle
from tests.support.smtp import free_port

MY_ORGANISATION = """\
directorates:
  - {code: DG, name: Direction générale}
  - {code: DSI, name: Direction du numérique}
users:
  - {username: agathe, name: Agathe Roy, email: agathe@example.fr, directorate: DG, roles: [dgs, manager, hr], password: secret}
  - {username: bruno, name: Bruno Faure, email: bruno@example.fr, directorate: DSI, manager: agathe, roles: [process_owner], password: secret}
"""


def development(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'mine.sqlite'}", PASSERELLE_SECRET_KEY="k" * 40,
               PASSERELLE_PASSWORD_COST=os.environ.get("PASSERELLE_PASSWORD_COST", "10"))
    return env


def serve(tmp_path, env) -> tuple[Process, str]:
    port = free_port()
    server = Process([str(BIN / "passerelle"), "run", "--port", str(port)], env, tmp_path / "run.log").start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.alive, f"passerelle run exited:\n{server.log()}"
        try:
            if requests.get(url + "/healthz", timeout=5).status_code == 200:
                return server, url
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    server.stop()
    raise AssertionError(f"passerelle run not ready:\n{server.log()}")


def test_run_on_an_organisation_of_ones_own_starts_without_demo_requests(tmp_path):
    env = development(tmp_path)
    (tmp_path / "my-org.yaml").write_text(MY_ORGANISATION, encoding="utf-8")
    passerelle(env, "db", "upgrade")
    assert "loaded 2 users" in passerelle(env, "org", "load", str(tmp_path / "my-org.yaml"))
    server, url = serve(tmp_path, env)
    try:
        assert requests.get(url + "/login", timeout=5).status_code == 200
        engine = make_engine(env["DATABASE_URL"])
        with make_session_factory(engine)() as s:
            assert s.scalar(select(func.count(Instance.id))) == 0
            assert sorted(s.scalars(select(User.username))) == ["agathe", "bruno"]
        engine.dispose()
    finally:
        server.stop()
    assert "demo:" not in server.log()


def test_run_on_an_empty_database_shows_the_demo(tmp_path):
    env = development(tmp_path)
    server, url = serve(tmp_path, env)
    try:
        engine = make_engine(env["DATABASE_URL"])
        with make_session_factory(engine)() as s:
            assert s.scalar(select(func.count(Instance.id))) == 6
        engine.dispose()
    finally:
        server.stop()
    assert "demo: 6 requests started at various stages" in server.log()
