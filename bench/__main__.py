"""`python -m bench [--quick] ...`: run the measurements, write bench/results/ (see README.md)."""
from __future__ import annotations

import os

# Demo passwords are hashed when the organisation loads; no password is checked while measuring.
os.environ.setdefault("PASSERELLE_PASSWORD_COST", "10")

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy.engine import make_url  # noqa: E402

from . import (anatomy, audit_export, bulk, databases, engine_cost, http_load, isolation_cost, report,  # noqa: E402
               scale, server)

BENCH_DIR = Path(__file__).resolve().parent
USERS = ("nadia", "julien", "luc", "thomas", "pierre", "marie", "lea", "sophie", "karim", "claire", "antoine")


@dataclass(frozen=True)
class Plan:
    engine: engine_cost.Sizes
    instances: int
    open_tasks: int
    latency_repeats: int
    load: http_load.Load
    threads: int


FULL = Plan(engine_cost.Sizes(), instances=100_000, open_tasks=50, latency_repeats=200,
            load=http_load.Load(clients=8, seconds=40), threads=4)
QUICK = Plan(engine_cost.QUICK, instances=300, open_tasks=3, latency_repeats=5,
             load=http_load.Load(clients=2, seconds=2, warmup_requests=1), threads=2)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_kind(kind: str, plan: Plan, args, workdir: Path) -> dict:
    out: dict = {}
    log(f"== {kind}")
    if "engine" in args.only:
        log("  1-2. engine overhead and growth (rework loop)")
        database = databases.create(kind, workdir, args.postgres_url, "engine")
        try:
            out["engine"] = engine_cost.measure(database.sessions(), plan.engine, log=log)
            log("  6. diagram code in sandbox processes / in-process, per completion")
            out["isolation"] = isolation_cost.measure(database.sessions(), plan.engine, log=log)
        finally:
            database.dispose()
            database.drop()
    measured = {"scale", "http"} & set(args.only)  # (4) runs for either; "audit" alone needs only the database
    if not (measured or "audit" in args.only):
        return out
    database = databases.create(kind, workdir, args.postgres_url, "scale")
    try:
        sessions = database.sessions()
        started = time.perf_counter()
        log(f"  4. bulk-loading {plan.instances:,} requests")
        rows = bulk.load(database, plan.instances, log=log)
        scale.genuine_open_tasks(sessions, plan.open_tasks)
        census = scale.census(sessions)
        size = database.size_bytes()
        out["scale"] = {
            "load_seconds": round(time.perf_counter() - started, 1), "rows_loaded": rows, "census": census,
            "size_bytes": size, "mb_per_1000_instances": round(size / 1e6 / (census["instances"] / 1000), 2),
        }
        log(f"    {census['instances']:,} instances, {census['task_rows']:,} task rows, "
            f"{census['audit_events']:,} audit events, {size / 1e6:,.0f} MB "
            f"({out['scale']['mb_per_1000_instances']} MB per 1,000 instances)")
        if measured:
            out["scale"]["engine"] = scale.measure_engine(sessions, plan.latency_repeats)
        tokens = server.tokens(sessions, USERS)
        database.dispose()
        if "http" in args.only:
            out["anatomy"] = anatomy.measure(database.url, tokens, requests=1 if args.quick else 3)
            log(f"    SQL statements per API call (median): start {out['anatomy']['start']['statements_median']}, "
                f"complete {out['anatomy']['complete']['statements_median']}; share of the time waiting on SQL: "
                f"{out['anatomy']['complete']['sql_time_share']:.0%}")
        port = make_url(database.url).port if kind == "postgresql" else None
        with server.Server(database.url, workdir / f"gunicorn-{kind}.log", threads=plan.threads) as srv:
            if measured:
                out["scale"]["http"] = scale.measure_http(srv.url, tokens, plan.latency_repeats, plan.open_tasks)
                log(f"    task list p95 {out['scale']['http']['tasks']['p95_ms']} ms, "
                    f"audit search p95 {out['scale']['http']['audit']['p95_ms']} ms")
            if "http" in args.only:
                log(f"  3. HTTP load: {plan.load.clients} clients for {plan.load.seconds:g} s")
                out["http"] = http_load.measure(srv.url, tokens, plan.load, log=log,
                                                cpu=lambda: server.cpu_snapshot(srv, port))
                out["http"]["gunicorn"] = {"workers": srv.workers, "worker_class": "gthread", "threads": srv.threads}
            if measured:
                out["memory"] = {"peak_rss_mib": srv.peak_rss_mib()}
                log(f"  5. peak RSS of the workers: {out['memory']['peak_rss_mib']} MiB")
            if "audit" in args.only:  # after (5), whose peaks it would raise
                log(f"  7. exporting the whole audit trail ({census['audit_events']:,} events at the load)")
                out["audit_export"] = audit_export.measure(srv, tokens, log=log)
    finally:
        database.dispose()
        database.drop()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="toy sizes: checks the harness, measures nothing")
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql (default: both)")
    parser.add_argument("--postgres-url", default=os.environ.get("PASSERELLE_BENCH_DATABASE_URL"),
                        help="a PostgreSQL server where throwaway databases may be created "
                             "(default: $PASSERELLE_BENCH_DATABASE_URL)")
    parser.add_argument("--only", default="engine,scale,http,audit",
                        help="comma-separated parts: engine (1-2), scale (4), http (3, 5), audit (7)")
    parser.add_argument("--instances", type=int,
                        help="requests bulk-loaded for the task-list and audit-export measurements "
                             "(default 100,000: ~790,000 audit events)")
    parser.add_argument("--clients", type=int, help="concurrent HTTP clients")
    parser.add_argument("--seconds", type=float, help="length of the HTTP load")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results", help="where results go")
    parser.add_argument("--update-readme", action="store_true",
                        help="copy the table into bench/README.md (./scripts/bench does on full runs)")
    args = parser.parse_args(argv)
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    unknown = set(kinds) - {"sqlite", "postgresql"} or set(args.only) - {"engine", "scale", "http", "audit"}
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    if "postgresql" in kinds and not args.postgres_url:
        parser.error("PostgreSQL needs --postgres-url or PASSERELLE_BENCH_DATABASE_URL (./scripts/bench starts one)")
    plan = QUICK if args.quick else FULL
    load = plan.load
    if args.clients or args.seconds:
        load = http_load.Load(clients=args.clients or load.clients, seconds=args.seconds or load.seconds,
                              warmup_requests=load.warmup_requests)
    plan = Plan(plan.engine, args.instances or plan.instances, plan.open_tasks, plan.latency_repeats, load,
                plan.threads)

    started = time.perf_counter()
    document = {
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "mode": "quick" if args.quick else "full",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "loadavg_start": round(os.getloadavg()[0], 2)},
        "plan": asdict(plan),
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="passerelle-bench-") as tmp:
        for kind in kinds:
            load_before = round(os.getloadavg()[0], 2)
            document["results"][kind] = run_kind(kind, plan, args, Path(tmp))
            # other work on the machine slows the two sides of no ratio alike: say when there was some
            document["results"][kind]["loadavg"] = [load_before, round(os.getloadavg()[0], 2)]
    document["machine"]["loadavg_end"] = round(os.getloadavg()[0], 2)
    document["duration_s"] = round(time.perf_counter() - started, 1)
    paths = report.write(document, args.out)
    table = paths["markdown"].read_text()
    print(table)
    if args.update_readme and not args.quick:
        report.update_readme(BENCH_DIR / "README.md", table)
    log("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
