"""Web fixtures: the app on a real database (SQLite and PostgreSQL), a test client, a live HTTP
server on a free loopback port, and sign-in helpers."""
from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

from web import create_app

from ..support.seeded import SeededDatabases

SETTINGS = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-" + "x" * 32,
    "AUTO_SETUP": True,
    "DEMO_DATA": True,
    "RATELIMIT_ENABLED": False,
}


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """Databases set up as the app sets up an empty one (migrated, demo organisation, processes/
    deployed), built once per kind for the whole run; each test gets a copy."""
    def build(url: str) -> None:
        create_app({**SETTINGS, "DATABASE_URL": url}).extensions["passerelle.db"].dispose()
    databases = SeededDatabases(tmp_path_factory.mktemp("seeded"), build)
    yield databases
    databases.drop()


@pytest.fixture
def app(database_url, tmp_path, seeded):
    """The application with the demo organisation and processes/ deployed."""
    seeded.copy_into(database_url)
    application = create_app({**SETTINGS, "DATABASE_URL": database_url})
    application.instance_path = str(tmp_path / "instance")
    yield application
    application.extensions["passerelle.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class LiveServer:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on 127.0.0.1 (a random free port)."""
    server = LiveServer(app).start()
    yield server
    server.stop()


class Api:
    """A tiny HTTP client for the JSON API over real HTTP."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.http = requests.Session()
        self.token = None

    def login(self, username: str, password: str = "demo") -> "Api":
        response = self.http.post(f"{self.base}/api/v1/auth/token", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        return self

    def get(self, path, **kw):
        return self.http.get(self.base + path, **kw)

    def post(self, path, **kw):
        return self.http.post(self.base + path, **kw)

    def delete(self, path, **kw):
        return self.http.delete(self.base + path, **kw)


@pytest.fixture
def api(live_server):
    """A factory: `api("nadia")` is a client signed in as nadia over real HTTP."""
    def make(username: str | None = None, password: str = "demo") -> Api:
        client = Api(live_server.url)
        return client.login(username, password) if username else client
    return make
