"""The run's figures as JSON, a Markdown table, and a PNG plot of the cost of a completion as an
instance goes round the rework loop."""
from __future__ import annotations

import json
from pathlib import Path

KINDS = (("sqlite", "SQLite"), ("postgresql", "PostgreSQL"))
TARGETS = {
    "overhead": 3.0,          # persisted / bare, SQLite
    "growth": 1.5,            # after 50 rounds / fresh, persisted engine
    "completions_per_second": 100.0,  # PostgreSQL, over HTTP
    "p95_ms": 50.0,           # task list and audit search at scale
    "audit_export_mib": 50.0,  # RSS growth of the worker exporting the whole audit trail
}


def _get(results: dict, kind: str, *path, default=None):
    value = results.get(kind)
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def verdicts(results: dict) -> list[dict]:
    """Each target with the figure it is judged on, and whether it is met."""
    out = []

    def judge(name, kind, value, limit, higher_is_better=False):
        if value is None:
            return
        met = value >= limit if higher_is_better else value <= limit
        out.append({"target": name, "database": kind, "value": value, "limit": limit, "met": met})

    judge("1. engine overhead (persisted / bare), at most", "sqlite",
          _get(results, "sqlite", "engine", "overhead", "ratio"), TARGETS["overhead"])
    for kind, _ in KINDS:
        rounds = _get(results, kind, "engine", "growth", "rounds")
        judge(f"2. growth after {rounds} rework rounds (persisted engine), at most", kind,
              _get(results, kind, "engine", "growth", "persisted_ratio"), TARGETS["growth"])
    judge("3. task completions per second over HTTP, at least", "postgresql",
          _get(results, "postgresql", "http", "completions_per_second"), TARGETS["completions_per_second"], True)
    for kind, _ in KINDS:
        judge("4. GET /api/v1/tasks p95 ms at scale, at most", kind,
              _get(results, kind, "scale", "http", "tasks", "p95_ms"), TARGETS["p95_ms"])
        judge("4. audit search by actor p95 ms at scale, at most", kind,
              _get(results, kind, "scale", "http", "audit", "p95_ms"), TARGETS["p95_ms"])
        judge("7. RSS growth (MiB) of the worker exporting the whole audit trail, at most", kind,
              _get(results, kind, "audit_export", "max_rss_growth_mib"), TARGETS["audit_export_mib"])
    return out


def _fmt(value, suffix="") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}{suffix}" if abs(value) < 100 else f"{value:,.0f}{suffix}"
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    return f"{value}{suffix}"


def markdown(report: dict) -> str:
    results = report["results"]

    def row(label, *path, suffix="", target=""):
        cells = [_fmt(_get(results, kind, *path), suffix) for kind, _ in KINDS]
        return f"| {label} | {cells[0]} | {cells[1]} | {target} |"

    def latency(label, *path, target=""):
        cells = []
        for kind, _ in KINDS:
            s = _get(results, kind, *path)
            cells.append("—" if not s else f"{s['p50_ms']:.1f} / {s['p95_ms']:.1f} / {s['p99_ms']:.1f}")
        return f"| {label} | {cells[0]} | {cells[1]} | {target} |"

    def memory():
        cells = []
        for kind, _ in KINDS:
            peaks = _get(results, kind, "memory", "peak_rss_mib")
            cells.append("—" if not peaks else " / ".join(f"{v:.0f}" for v in peaks.values()) + " MiB")
        return f"| 5. peak resident memory of the 2 gunicorn workers (VmHWM) | {cells[0]} | {cells[1]} | |"

    growth_rounds = (_get(results, "sqlite", "engine", "growth", "rounds")
                     or _get(results, "postgresql", "engine", "growth", "rounds"))
    http = _get(results, "postgresql", "http") or _get(results, "sqlite", "http") or {}
    census = _get(results, "postgresql", "scale", "census") or _get(results, "sqlite", "scale", "census") or {}
    lines = [
        "| Figure | SQLite | PostgreSQL | Target |",
        "|---|---:|---:|---|",
        row("1. engine overhead: persisted / bare SpiffWorkflow, per completion (ratio of medians)",
            "engine", "overhead", "ratio", suffix="×", target="≤ 3× on SQLite"),
        row("　persisted completion, median ms (this machine)", "engine", "overhead", "persisted_median_ms"),
        row("　bare SpiffWorkflow completion, median ms (this machine)", "engine", "overhead", "bare_median_ms"),
        row("　floor: one transaction reading and rewriting the instance row / bare", "engine", "overhead",
            "floor_ratio", suffix="×"),
        row("　floor: the least a completion writes (task done, next task, 2 events, serialized state), "
            "in SQLAlchemy Core / bare", "engine", "overhead", "floor_writes_ratio", suffix="×"),
        row("　→ least possible overhead: (that floor + bare step) / bare", "engine", "overhead", "least_ratio",
            suffix="×"),
        row(f"2. growth: completion after {growth_rounds} rework rounds / fresh, persisted engine",
            "engine", "growth", "persisted_ratio", suffix="×", target="≤ 1.5×"),
        row("　same, bare SpiffWorkflow", "engine", "growth", "bare_ratio", suffix="×"),
        row(f"　ms the engine adds to a completion: fresh → after {growth_rounds} rounds",
            "engine", "growth", "added_ms_summary"),
        row(f"　saved workflow state, bytes: fresh → after {growth_rounds} rounds", "engine", "growth",
            "state_summary"),
        row(f"3. HTTP: task completions per second ({http.get('clients', '?')} clients, gunicorn 2 workers)",
            "http", "completions_per_second", target="≥ 100/s on PostgreSQL"),
        row("　HTTP calls per second", "http", "calls_per_second"),
        row("　CPU ms per call: gunicorn workers / PostgreSQL / clients", "http", "cpu_summary"),
        row("　SQL statements per task completion over the API (median)", "anatomy", "complete", "statements_median"),
        row("　share of a completion's time spent waiting on SQL (in-process)", "anatomy", "complete",
            "sql_time_share"),
        row("　whole requests (start → last task) per second", "http", "missions_per_second"),
        latency("　per-call latency p50 / p95 / p99, ms", "http", "latency"),
        latency(f"4. GET /api/v1/tasks ({census.get('manager_open_tasks', 50)} open tasks), p50 / p95 / p99 ms",
                "scale", "http", "tasks", target="p95 ≤ 50 ms"),
        latency("4. GET /api/v1/audit/events?actor=…, p50 / p95 / p99 ms", "scale", "http", "audit",
                target="p95 ≤ 50 ms"),
        latency("　engine only: task list query, ms", "scale", "engine", "tasks"),
        latency("　engine only: audit search query, ms", "scale", "engine", "audit"),
        row("　database size per 1,000 instances, MB", "scale", "mb_per_1000_instances"),
        row("　instances / task rows / audit events in the database", "scale", "census_summary"),
        memory(),
        row("6. diagram code in sandbox processes / in-process, per completion with a script (ratio of medians)",
            "isolation", "scripted", "ratio", suffix="×"),
        row("　completion with a script, median ms: sandbox processes / in-process", "isolation", "scripted",
            "summary"),
        row("　same, a completion whose conditions are all cheap (evaluated in-process either way)",
            "isolation", "conditions", "ratio", suffix="×"),
        row("　that script alone, median ms: sandbox process / in-process", "isolation", "script_alone", "summary"),
        row("7. audit export of the whole trail over HTTP: RSS growth of the serving worker, MiB (CSV)",
            "audit_export", "csv", "max_rss_growth_mib", target="< 50 MiB"),
        row("　same, JSON", "audit_export", "json", "max_rss_growth_mib", target="< 50 MiB"),
        row("　events exported / MiB of CSV / seconds / events per second", "audit_export", "summary"),
    ]
    verdict_lines = [f"- {'met' if v['met'] else '**missed**'}: {v['target']} {v['limit']:g} — "
                     f"{dict(KINDS)[v['database']]}: {v['value']:g}" for v in verdicts(results)]
    machine = report["machine"]
    loads = "; ".join(f"{label} part {results[kind]['loadavg'][0]} → {results[kind]['loadavg'][1]}"
                      for kind, label in KINDS if "loadavg" in results.get(kind, {}))
    header = (f"Run of {report['generated_at']} ({report['mode']}), {machine['cpus']} CPUs, "
              f"{report['duration_s']:.0f} s in all; 1-minute load average (2 = both cores busy) at the start and "
              f"end of each part, this run included: {loads or 'not recorded'}.")
    return "\n".join([header, "", *lines, "", *verdict_lines, ""])


def summarise(results: dict) -> None:
    """Add the derived one-cell strings the table shows."""
    for kind, _ in KINDS:
        for figures in (_get(results, kind, "isolation") or {}).values():
            figures["summary"] = f"{figures['isolated_median_ms']:.2f} / {figures['in_process_median_ms']:.2f}"
        growth = _get(results, kind, "engine", "growth")
        if growth:
            growth["added_ms_summary"] = f"{growth['added_ms_fresh']:.1f} → {growth['added_ms_old']:.1f}"
            growth["state_summary"] = f"{growth['state_bytes_fresh']:,} → {growth['state_bytes_old']:,}"
        cpu = _get(results, kind, "http", "cpu_ms_per_call")
        if cpu:
            results[kind]["http"]["cpu_summary"] = " / ".join(
                f"{cpu[p]:.1f}" if (cpu[p] or p != "database" or kind == "postgresql") else "—"
                for p in ("server", "database", "client"))
        export = _get(results, kind, "audit_export", "csv")
        if export:
            results[kind]["audit_export"]["summary"] = (f"{export['events']:,} / {export['bytes'] / 2**20:,.0f} / "
                                                        f"{export['seconds']:g} / {export['events_per_second']:,}")
        census = _get(results, kind, "scale", "census")
        if census:
            results[kind]["scale"]["census_summary"] = (f"{census['instances']:,} / {census['task_rows']:,} / "
                                                        f"{census['audit_events']:,}")


def plot(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, (absolute, relative) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"sqlite": "tab:blue", "postgresql": "tab:green"}
    for kind, label in KINDS:
        curve = _get(results, kind, "engine", "curve")
        if not curve:
            continue
        rounds = curve["round"]
        for series, growth, name, style in (("persisted_ms", "persisted_growth", f"persisted engine, {label}", "-"),
                                            ("bare_ms", "bare_growth", f"bare SpiffWorkflow (beside {label})", ":")):
            absolute.plot(rounds, curve[series], style, color=styles[kind], label=name)
            relative.plot(rounds, curve[growth], style, color=styles[kind], label=name)
    absolute.set(title="Time per task completion", xlabel="times round the rework loop",
                 ylabel="ms (median, log scale)", yscale="log")
    relative.set(title="Growth: cost relative to a fresh instance", xlabel="times round the rework loop",
                 ylabel="× a first round on a new instance, same moment")
    relative.axhline(TARGETS["growth"], color="tab:red", linewidth=0.8, linestyle="--")
    relative.annotate(f"target for the persisted engine: ≤ {TARGETS['growth']}× at 50 rounds",
                      (0, TARGETS["growth"]), textcoords="offset points", xytext=(4, 4), fontsize=8, color="tab:red")
    for axes in (absolute, relative):
        axes.grid(alpha=0.3, which="both")
    relative.set_ylim(bottom=0)
    if absolute.lines:
        absolute.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(report: dict, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    summarise(report["results"])
    report["verdicts"] = verdicts(report["results"])
    stamp = report["generated_at"].replace(":", "").replace("-", "")
    paths = {"json": out / f"bench-{stamp}.json", "latest_json": out / "latest.json",
             "markdown": out / "latest.md", "png": out / "cost_growth.png"}
    text = json.dumps(report, indent=2, ensure_ascii=False)
    paths["json"].write_text(text)
    paths["latest_json"].write_text(text)
    paths["markdown"].write_text(markdown(report))
    plot(report["results"], paths["png"])
    return paths


def update_readme(readme: Path, table: str) -> None:
    """Replace the table between the README's result markers."""
    begin, end = "<!-- bench:results -->", "<!-- /bench:results -->"
    text = readme.read_text()
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{begin}\n{table}\n{end}{tail}")
