"""Passerelle's benchmarks: `./scripts/bench` (or `python -m bench`) measures the engine and the
HTTP API on SQLite and PostgreSQL and writes bench/results/ (JSON, Markdown table, PNG plot).

Figures are ratios measured in the same run, counts, or latencies — never absolute times compared
across machines. Nothing here runs inside the test suite except a toy-sized smoke run.
"""
