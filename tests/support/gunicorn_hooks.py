"""gunicorn settings for the production tests: only a line in the log when a worker has loaded
the application, so that a test knows every worker is up (a server hook, not an application change)."""
import sys


def post_worker_init(worker):
    print(f"passerelle-ready pid={worker.pid}", file=sys.stderr, flush=True)
