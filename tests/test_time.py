"""The suite passes whatever day it runs: the product reads "now" only through the engine's clock,
the tests build their moments from it, and the run starts that clock on a fixed day."""
from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from engine import clock
from tests.conftest import SUITE_STARTS_AT

ROOT = Path(__file__).resolve().parents[1]
# the machine's clock, as Python code reads it
READINGS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
            ("time", "time")}
# where reading the machine's clock is right, and why
ALLOWED = {
    "engine/clock.py": "the clock itself",
    "bench/__main__.py": "when a benchmark run happened, in its report",
    # gunicorn servers in child processes run on the machine's clock, not the suite's
    "tests/web/test_production_servers.py": "moments given to servers in child processes",
}


def clock_readings(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and (node.func.value.id, node.func.attr) in READINGS):
            lines.append(node.lineno)
    return lines


def test_only_the_engine_clock_reads_the_machine_clock():
    found = {}
    for folder in ("engine", "web", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name not in ALLOWED and (lines := clock_readings(path)):
                found[name] = lines
    assert found == {}, "read the time with engine.clock.now() / today(), or freeze it with engine.frozen_at"


def test_the_guard_sees_a_reading_of_the_machine_clock(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from datetime import date, datetime\nx = date.today()\ny = datetime.now()\n")
    assert clock_readings(sample) == [2, 3]


def test_the_suite_runs_on_its_own_day():
    assert SUITE_STARTS_AT <= clock.now() < SUITE_STARTS_AT + timedelta(hours=6)
    assert clock.today() == SUITE_STARTS_AT.date()
