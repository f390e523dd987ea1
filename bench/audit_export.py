"""Measurement 7: the whole audit trail of the large database (4) exported through the real
server — `GET /api/v1/audit/export` as the auditor, CSV then JSON — and how much the resident
memory of the worker that serves it grows (target: under 50 MiB for ~800,000 events).

Growth is the worker's peak resident set during the download (VmHWM, reset beforehand through
/proc/<pid>/clear_refs, and VmRSS sampled every 20 ms besides) minus its resident set before it.
The client reads the body as it arrives and keeps only counts.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import requests

AUDITOR = "antoine"
FORMATS = ("csv", "json")


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _reset_peak(pid: int) -> bool:
    """Make VmHWM start again from VmRSS (Linux 4.0+); False where the kernel does not allow it."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    """The highest VmRSS of each process, polled until stopped."""

    def __init__(self, pids: list[int], every: float = 0.02):
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.peak_kib = {pid: 0 for pid in pids}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for pid in self.pids:
                try:
                    self.peak_kib[pid] = max(self.peak_kib[pid], _status_kib(pid, "VmRSS"))
                except (OSError, RuntimeError):
                    pass
            self.done.wait(self.every)

    def stop(self) -> dict[int, int]:
        self.done.set()
        self.join(timeout=5)
        return self.peak_kib


def export_once(base: str, token: str, fmt: str, pids: list[int]) -> dict:
    """Download the whole trail once in `fmt`; the download's figures and each worker's growth."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    total = http.get(f"{base}/api/v1/audit/events", params={"page_size": 1}, timeout=60).json()["total"]
    before = {pid: _status_kib(pid, "VmRSS") for pid in pids}
    reset = all(_reset_peak(pid) for pid in pids)
    sampler = Sampler(pids)
    sampler.start()
    started = time.perf_counter()
    size = lines = chunks = 0
    try:
        with http.get(f"{base}/api/v1/audit/export", params={"format": fmt}, stream=True, timeout=600) as response:
            if response.status_code != 200:
                raise RuntimeError(f"export {fmt}: {response.status_code} {response.text[:300]}")
            for chunk in response.iter_content(chunk_size=None):
                size += len(chunk)
                lines += chunk.count(b"\n")
                chunks += 1
    finally:
        sampled = sampler.stop()
    seconds = time.perf_counter() - started
    peaks = {pid: max(sampled[pid], _status_kib(pid, "VmHWM") if reset else 0) for pid in pids}
    events = lines - (1 if fmt == "csv" else 2)  # the header line; the array's brackets
    if events != total:
        raise RuntimeError(f"export {fmt}: {events:,} events in the file, {total:,} in the database")
    growth = {str(pid): round((peaks[pid] - before[pid]) / 1024, 1) for pid in pids}
    return {"events": events, "bytes": size, "chunks": chunks, "seconds": round(seconds, 1),
            "events_per_second": round(events / seconds), "rss_before_mib": {str(p): round(before[p] / 1024, 1)
                                                                              for p in pids},
            "rss_growth_mib": growth, "max_rss_growth_mib": max(growth.values()), "peak_reset": reset}


def measure(server, tokens: dict[str, str], log=print) -> dict:
    out = {}
    for fmt in FORMATS:
        figures = export_once(server.url, tokens[AUDITOR], fmt, server.worker_pids())
        out[fmt] = figures
        log(f"    {fmt}: {figures['events']:,} events, {figures['bytes'] / 2**20:,.0f} MiB in "
            f"{figures['seconds']:g} s; RSS growth of the workers {figures['rss_growth_mib']} MiB")
    out["max_rss_growth_mib"] = max(out[fmt]["max_rss_growth_mib"] for fmt in FORMATS)
    return out
