"""Real processes for production tests: the `passerelle` command, gunicorn with several workers,
`passerelle worker` — started in their own process group so a test can stop or SIGKILL them all."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from .smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRET = "production-test-secret-" + "k" * 32
HOOKS = Path(__file__).with_name("gunicorn_hooks.py")


def environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a production deployment: PASSERELLE_* settings and DATABASE_URL only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, PASSERELLE_ENV="production", PASSERELLE_SECRET_KEY=SECRET,
               PASSERELLE_PASSWORD_COST=os.environ.get("PASSERELLE_PASSWORD_COST", "10"))
    env.update({f"PASSERELLE_{k}": v for k, v in settings.items()})
    return env


def passerelle(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    result = subprocess.run([str(BIN / "passerelle"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"passerelle {' '.join(args)}: {result.stderr}"
    return result.stdout


class Process:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.argv, self.env, self.log_path = argv, env, log
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        return self

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole group (the gunicorn master and its workers): no clean-up at all."""
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=10)
            self._log.close()
            self.popen = None

    def stop(self, grace: float = 10) -> None:
        """SIGTERM, then SIGKILL whatever is left after `grace` seconds."""
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=grace)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                pass
            self.kill()


class Server(Process):
    """gunicorn serving `web:create_app()` with several sync workers on a free loopback port."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 4, port: int | None = None):
        self.port = port or free_port()
        self.workers = workers
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}",
                          "--graceful-timeout", "5", "--timeout", "60", "-c", str(HOOKS), "web:create_app()"],
                         env, log)

    def wait_ready(self, timeout: float = 90) -> "Server":
        """Until every worker has loaded the application and `/healthz` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.alive, f"gunicorn exited:\n{self.log()}"
            if self.log().count("passerelle-ready") >= self.workers:
                try:
                    if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                        return self
                except requests.ConnectionError:
                    pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn not ready after {timeout}s:\n{self.log()}")


class Worker(Process):
    def __init__(self, env: dict[str, str], log: Path):
        super().__init__([str(BIN / "passerelle"), "worker"], env, log)
