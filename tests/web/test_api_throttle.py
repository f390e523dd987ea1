"""Sign-in throttling: POST /api/v1/auth/token answers 429 past LOGIN_LIMIT (enabled here only)."""
from __future__ import annotations

import pytest

from web import create_app
from web.security import limiter

from .api_helpers import assert_error


@pytest.fixture
def app(database_url, tmp_path):
    """The application with throttling on: three sign-in attempts a minute."""
    application = create_app({
        "TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "AUTO_SETUP": True, "DEMO_DATA": True, "RATELIMIT_ENABLED": True, "LOGIN_LIMIT": "3 per minute",
    })
    application.instance_path = str(tmp_path / "instance")
    limiter.reset()
    yield application
    limiter.reset()
    application.extensions["passerelle.db"].dispose()


def test_sign_in_is_throttled_per_account_and_address(api):
    client = api()
    for _ in range(3):
        assert_error(client.post("/api/v1/auth/token", json={"username": "nadia", "password": "guess"}), 401)
    body = assert_error(client.post("/api/v1/auth/token", json={"username": "nadia", "password": "demo"}), 429)
    assert "try again" in body["message"]
    # the address is throttled too: another account from the same address waits as well
    assert_error(client.post("/api/v1/auth/token", json={"username": "thomas", "password": "demo"}), 429)


def test_the_rest_of_the_api_is_not_throttled(api):
    client = api("thomas")
    for _ in range(6):
        assert client.get("/api/v1/me").status_code == 200
