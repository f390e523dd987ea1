"""Sandbox processes: where diagram code that is not provably cheap runs (see `cheap` for the rule).

Each server or worker process keeps a small pool of sandbox processes (`python -I`, importing only
the sandbox, see `child`), started ahead of need and reused. One evaluation is one JSON line out
and one back. The server waits for the answer with select() and a wall-clock deadline (the time
limit plus GRACE), so its other threads run meanwhile, and the sandbox process is killed and
replaced when:

- it overruns the deadline, even inside a single builtin call that never returns to the guards
  (ForbiddenCode "evaluation exceeded 1 s");
- it crashes — a C stack overflow while hashing 240,000 nested tuples, the CPU limit (RLIMIT_CPU)
  or the memory limit (RLIMIT_AS) — (ForbiddenCode "evaluation crashed its sandbox process ...");
- its answer is longer than the result limit: what crosses is JSON text, measured as such, so a
  list holding one large string many times counts at its real size (ForbiddenCode "result too large").

Engine functions given to SandboxedEnvironment (e.g. `manager_of`) run here, in the server, when
the sandbox process asks for them: their arguments and results are JSON too.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import (SANDBOX_CRASHED, SANDBOX_RESULT_TOO_LARGE, SANDBOX_TOO_SLOW, ForbiddenCode,
                      SandboxCrashed)
from ..messages import Message
from . import wire
from .budget import GRACE, Limits

_ROOT = str(Path(__file__).resolve().parents[2])
_BOOTSTRAP = """
import sys, types
root = sys.argv.pop(1)
for name in ("engine", "engine.sandbox"):  # the sandbox alone, not the engine's __init__
    package = types.ModuleType(name)
    package.__path__ = [root + "/" + name.replace(".", "/")]
    sys.modules[name] = package
from engine.sandbox.child import main
main()
"""
BOOT_SECONDS = 30.0  # how long a new sandbox process may take to import the sandbox
_CALL_BYTES = 100_000


class _Overrun(Exception):
    pass


class _Crashed(Exception):
    pass


class _Process:
    """One sandbox process and its two pipes."""

    def __init__(self, memory_bytes: int):
        self.popen = subprocess.Popen([sys.executable, "-I", "-c", _BOOTSTRAP, _ROOT, str(memory_bytes)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      close_fds=True)
        self.fd = self.popen.stdout.fileno()
        self.buffer = bytearray()
        self.ready = False

    def send(self, text: str) -> None:
        try:
            self.popen.stdin.write(text.encode("ascii") + b"\n")
            self.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            raise _Crashed(self.exit_reason()) from None

    def receive(self, deadline: float, limit: int) -> dict:
        """The next message, or _Overrun at `deadline`, or _Crashed; ForbiddenCode past `limit` bytes."""
        start = 0
        while (end := self.buffer.find(b"\n", start)) < 0:
            start = len(self.buffer)
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                raise _Overrun()
            readable, _, _ = select.select([self.fd], [], [], timeout)
            if not readable:
                continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise _Crashed(self.exit_reason())
            self.buffer += chunk
            if len(self.buffer) > limit + 1000:  # the answer's own keys and punctuation
                raise ForbiddenCode(Message(SANDBOX_RESULT_TOO_LARGE, limit=limit), None,
                                    f"result too large: more than {limit} bytes of data")
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 1]
        return json.loads(line)

    def exit_reason(self) -> str:
        try:
            code = self.popen.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"it exited with status {code}"

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()
        for pipe in (self.popen.stdin, self.popen.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class Pool:
    """Up to `limits.processes` sandbox processes, started ahead of need; a thread that finds them
    all busy waits for one (each is busy for at most its deadline)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._idle = [_Process(limits.memory_bytes) for _ in range(limits.processes)]
        self._count = len(self._idle)
        self._changed = threading.Condition()

    def _acquire(self) -> _Process:
        with self._changed:
            while not self._idle and self._count >= self.limits.processes:
                self._changed.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
        return _Process(self.limits.memory_bytes)

    def _release(self, process: _Process, healthy: bool) -> None:
        if not healthy:
            process.kill()
            process = _Process(self.limits.memory_bytes)  # replaced at once: ready for the next one
        with self._changed:
            self._idle.append(process)
            self._changed.notify()

    def run(self, request: dict[str, Any], functions: Mapping[str, Callable[..., Any]]) -> dict[str, Any]:
        """Send `request` (see `child`) to a sandbox process, answer its engine function calls,
        and return its answer. Raises ForbiddenCode on overrun, crash or an oversized answer."""
        text = wire.text(request)
        time_limit, limit = request["time_limit"], request["result_bytes"]
        process, healthy = self._acquire(), False
        try:
            if not process.ready:
                message = process.receive(time.monotonic() + BOOT_SECONDS, 1000)
                process.ready = message.get("ready") is True
            process.send(text)
            deadline = time.monotonic() + time_limit + GRACE
            while True:
                message = process.receive(deadline, limit)
                if "call" not in message:
                    healthy = True
                    return message
                process.send(_call(functions, message))
        except _Overrun:
            raise SandboxCrashed(Message(SANDBOX_TOO_SLOW, seconds=f"{time_limit:g}"), None,
                                 f"evaluation exceeded {time_limit:g} s") from None
        except _Crashed as crash:
            reason = str(crash)
            if "SIGXCPU" in reason:
                raise SandboxCrashed(Message(SANDBOX_TOO_SLOW, seconds=f"{time_limit:g}"), None,
                                     f"evaluation exceeded {time_limit:g} s") from None
            raise SandboxCrashed(Message(SANDBOX_CRASHED, detail=reason), None,
                                 f"evaluation crashed its sandbox process ({reason}): too deep, too large "
                                 "or too slow") from None
        finally:
            self._release(process, healthy)

    def close(self) -> None:
        with self._changed:
            idle, self._idle = self._idle, []
        for process in idle:
            process.kill()


def _call(functions: Mapping[str, Callable[..., Any]], message: dict) -> str:
    function = functions.get(message["call"])
    if function is None:
        return json.dumps({"error": "no such function"})
    try:
        value = function(*message.get("args", ()))
        return f'{{"value":{wire.dumps(value, _CALL_BYTES, message["call"])}}}'
    except Exception as err:  # the engine function's failure becomes the diagram code's error
        return json.dumps({"error": type(err).__name__})


_pools: dict[tuple, Pool] = {}
_pools_lock = threading.Lock()


def pool(limits: Limits) -> Pool:
    """This process's pool for `limits` (a process forked from ours, e.g. by gunicorn, gets its own)."""
    key = (os.getpid(), limits.processes, limits.memory_bytes)
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            found = _pools[key] = Pool(limits)
        return found


@atexit.register
def _close_pools() -> None:
    for key, found in list(_pools.items()):
        if key[0] == os.getpid():
            found.close()
