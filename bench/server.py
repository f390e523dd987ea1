"""A real server for the HTTP measurements: gunicorn, 2 worker processes (threads inside each),
on a free loopback port, over the benchmark's database; and its workers' peak memory."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from engine import find_user, issue_token, unit_of_work

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, database_url: str, log_path: Path, workers: int = 2, threads: int = 4):
        self.database_url, self.log_path = database_url, log_path
        self.workers, self.threads = workers, threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        env = {**os.environ, "DATABASE_URL": self.database_url, "PASSERELLE_AUTO_SETUP": "false",
               "PASSERELLE_SECRET_KEY": "bench-" + "k" * 40, "PYTHONUNBUFFERED": "1"}
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--worker-class", "gthread",
             "--threads", str(self.threads), "--bind", f"127.0.0.1:{self.port}", "--timeout", "120",
             "--log-level", "warning", "web:create_app()"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.process.returncode}); see {self.log_path}")
            try:
                if requests.get(f"{self.url}/api/openapi.json", timeout=5).status_code < 500 and \
                        len(self.worker_pids()) >= self.workers:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not answer within 90 s; see {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if getattr(self, "log", None):
            self.log.close()

    def worker_pids(self) -> list[int]:
        """The master's children (gunicorn's workers)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return sorted(pids)

    def peak_rss_mib(self) -> dict[str, float]:
        """VmHWM (peak resident set) of each worker, in MiB."""
        peaks = {}
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[str(pid)] = round(int(line.split()[1]) / 1024, 1)
        return peaks


def tokens(sessions, usernames, hours: int = 12) -> dict[str, str]:
    """API tokens for the demo people, issued directly (signing in is throttled and not measured)."""
    with unit_of_work(sessions) as s:
        return {name: issue_token(s, find_user(s, name), hours)[0] for name in usernames}
