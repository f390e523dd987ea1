"""The benchmark harness at toy size: it runs every measurement once and writes its JSON, its
Markdown table and its PNG plot. It measures nothing worth reading (see bench/README.md)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ..conftest import ROOT, postgres_url

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_quick_run_writes_json_markdown_and_png(kind, tmp_path):
    command = [sys.executable, "-m", "bench", "--quick", "--databases", kind, "--out", str(tmp_path)]
    if kind == "postgresql":
        command += ["--postgres-url", postgres_url()]
    readme_before = (ROOT / "bench" / "README.md").read_text()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PASSERELLE_BENCH_DATABASE_URL": ""})
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["mode"] == "quick" and list(report["results"]) == [kind]
    figures = report["results"][kind]
    assert figures["engine"]["overhead"]["ratio"] > 1  # the persisted engine does strictly more work
    assert figures["engine"]["growth"]["state_bytes_old"] > figures["engine"]["growth"]["state_bytes_fresh"]
    census = figures["scale"]["census"]
    assert census["instances"] > 300 and census["manager_open_tasks"] == 3
    assert figures["scale"]["http"]["tasks"]["count"] == 5
    assert figures["http"]["missions"] >= 1 and figures["http"]["completions_per_second"] > 0
    assert len(figures["memory"]["peak_rss_mib"]) == 2  # both gunicorn workers
    export = figures["audit_export"]
    assert export["csv"]["events"] == export["json"]["events"] >= census["audit_events"]  # the whole trail
    assert export["max_rss_growth_mib"] < 50
    assert {v["database"] for v in report["verdicts"]} <= {kind}
    assert [p.name for p in tmp_path.glob("bench-*.json")]

    table = (tmp_path / "latest.md").read_text()
    assert "| Figure | SQLite | PostgreSQL | Target |" in table
    assert "1. engine overhead" in table and "4. GET /api/v1/tasks" in table and "7. audit export" in table
    assert table.strip() in done.stdout

    png = (tmp_path / "cost_growth.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 10_000
    # a quick run never rewrites the committed table
    assert (ROOT / "bench" / "README.md").read_text() == readme_before
