"""The engine never imports Flask or Werkzeug: it must run from the CLI, tests and workers alike."""
from __future__ import annotations

import subprocess
import sys


def test_engine_imports_without_flask_or_werkzeug():
    code = ("import sys, engine, engine.queries, engine.runtime\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug', 'flask_login', 'web'))\n"
            "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_surface_is_declared():
    import engine
    missing = [name for name in engine.__all__ if not hasattr(engine, name)]
    assert missing == []
    assert {"start_instance", "complete_task", "deploy", "verify_audit"} <= set(engine.__all__)
