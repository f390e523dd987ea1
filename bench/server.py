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
        # gunicorn reads the repository's gunicorn.conf.py (it starts in ROOT) as production does;
        # BENCH_GUNICORN_CONF=path replaces it, to measure another setting.
        env = {**os.environ, "DATABASE_URL": self.database_url, "PASSERELLE_AUTO_SETUP": "false",
               "PASSERELLE_SECRET_KEY": "bench-" + "k" * 40, "PYTHONUNBUFFERED": "1"}
        self.log = open(self.log_path, "ab")
        config = ["--config", os.environ["BENCH_GUNICORN_CONF"]] if os.environ.get("BENCH_GUNICORN_CONF") else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--worker-class", "gthread",
             "--threads", str(self.threads), "--bind", f"127.0.0.1:{self.port}", "--timeout", "120",
             "--log-level", "warning", *config, "web:create_app()"],
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its reaped children), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def postgres_pids(port: int | None) -> list[int]:
    """The local PostgreSQL server listening on `port` (postmaster started with `-p port`, as
    scripts/pg-test-server does) and its backends; empty if there is none here."""
    if not port:
        return []
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    stat = (entry / "stat").read_text()
                    cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                    processes[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
            except OSError:
                continue
    masters = [pid for pid, (_, cmdline) in processes.items()
               if any(a == b"-p" and b == str(port).encode() for a, b in zip(cmdline, cmdline[1:]))]
    return masters + [pid for pid, (ppid, _) in processes.items() if ppid in masters]


def cpu_snapshot(server: Server, postgres_port: int | None = None) -> dict[str, float]:
    """CPU seconds used so far by the gunicorn workers, by the local PostgreSQL server on
    `postgres_port` (its exited backends count through the postmaster's children's time), and by
    this process (the HTTP clients)."""
    def total(pids):
        seconds = 0.0
        for pid in pids:
            try:
                seconds += _cpu_seconds(pid)
            except (OSError, IndexError, ValueError):
                pass  # gone meanwhile
        return seconds

    return {"server": total(server.worker_pids()), "database": total(postgres_pids(postgres_port)),
            "client": time.process_time()}


def tokens(sessions, usernames, hours: int = 12) -> dict[str, str]:
    """API tokens for the demo people, issued directly (signing in is throttled and not measured)."""
    with unit_of_work(sessions) as s:
        return {name: issue_token(s, find_user(s, name), hours)[0] for name in usernames}
