"""gunicorn settings read from the directory gunicorn starts in (README: Run it in production).

Command-line options still win; this file only adds what the command line cannot say."""
import gc


def post_worker_init(worker):
    # Everything the worker built while loading the app (parsed process specs, SQLAlchemy and
    # marshmallow metadata, imported modules) lives as long as the worker: moved out of the
    # garbage collector's reach, it is no longer scanned by every full collection. Without this,
    # one request in ~15 paused 60-90 ms (bench/README.md: task list p95 90 ms -> 43 ms on
    # PostgreSQL, and 20 % more task completions per second).
    gc.freeze()
