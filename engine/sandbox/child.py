"""The sandbox process: reads one evaluation at a time on stdin, answers on stdout, one JSON line each.

Started by `isolation` as `python -c BOOTSTRAP`, which imports this module without the rest of the
engine (no database, no SpiffWorkflow runtime). Before reading anything it limits its own address
space (RLIMIT_AS) and core dumps; before each evaluation it sets its CPU limit (RLIMIT_CPU) a
little past the time limit. Diagram code then runs under the same policy, guards and budget as in
the server, so a refusal reads the same; what the sandbox process adds is that a crash, a runaway
builtin or an exhausted memory kills or stops only this process.

Messages (one JSON object per line). In: {"mode", "source", "data", "external", "functions",
"now", "time_limit", "result_bytes"}; then, to a {"call"} of ours, {"value"} or {"error"}.
Out: {"ready"} once; {"call": name, "args"} to run an engine function in the server;
{"value"} (an expression), {"set", "deleted"} (a script), {"refused", "line"}, {"syntax", "line"}
or {"error": type, "args", "line"} (an exception of the diagram code).
"""
from __future__ import annotations

import json
import math
import resource
import sys
from datetime import datetime
from typing import Any, BinaryIO

from .. import clock
from ..errors import SANDBOX_DATA_TOO_LARGE, SANDBOX_TOO_MUCH_MEMORY, ForbiddenCode
from ..messages import Message
from . import wire
from .budget import FILENAME, tick
from .environment import SandboxedEnvironment

_CALL_BYTES = 100_000  # arguments and results of one engine function call


def _send(out: BinaryIO, message: str) -> None:
    out.write(message.encode("ascii") + b"\n")
    out.flush()


def _proxy(name: str, inp: BinaryIO, out: BinaryIO):
    """An engine function of the server, called across the pipe."""
    def call(*args: Any) -> Any:
        tick()
        _send(out, json.dumps({"call": name, "args": json.loads(wire.dumps(list(args), _CALL_BYTES, name))}))
        reply = json.loads(inp.readline() or "{}")
        if "error" in reply:
            raise LookupError(f"{name}() failed: {reply['error']}")
        return reply.get("value")
    call.__name__ = name
    return call


def _line_of(err: BaseException) -> int | None:
    if isinstance(err, SyntaxError):
        return err.lineno
    line, tb = None, err.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _error(err: BaseException) -> str:
    args = list(err.args) if all(isinstance(a, (str, int)) for a in err.args) else [str(err)]
    try:
        text = wire.dumps(args, 10_000)
    except ForbiddenCode:
        text = json.dumps([str(err)[:1000]])
    return f'{{"error":{json.dumps(type(err).__name__)},"args":{text},"line":{json.dumps(_line_of(err))}}}'


def _set_cpu_limit(seconds: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))


def _evaluate(request: dict, inp: BinaryIO, out: BinaryIO) -> str:
    limit = request["result_bytes"]
    functions = {name: _proxy(name, inp, out) for name in request["functions"]}
    env = SandboxedEnvironment(functions, time_limit=request["time_limit"], isolated=False)
    data, external = request["data"], request["external"]
    if request["mode"] == "eval":
        return f'{{"value":{wire.dumps(env.evaluate(request["source"], data, external), limit)}}}'
    before = {name: json.dumps(value, ensure_ascii=True, separators=(",", ":")) for name, value in data.items()}
    env.execute(request["source"], data, external)
    changed = {}
    for name, value in data.items():
        text = wire.dumps(value, limit, name)
        if before.get(name) != text:
            changed[name] = text
    if sum(len(text) for text in changed.values()) > limit:
        raise ForbiddenCode(Message(SANDBOX_DATA_TOO_LARGE, limit=limit), None,
                            f"result too large: the script's data is more than {limit} bytes (the limit is {limit})")
    deleted = [name for name in before if name not in data]
    assigned = ",".join(f"{json.dumps(name)}:{text}" for name, text in changed.items())
    return f'{{"set":{{{assigned}}},"deleted":{json.dumps(deleted)}}}'


def serve(memory_bytes: int, inp: BinaryIO, out: BinaryIO) -> None:
    """Answer evaluations until stdin closes (the server went away)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    _send(out, '{"ready":true}')
    for line in inp:
        request = json.loads(line)
        _set_cpu_limit(request["time_limit"])
        try:
            with clock.frozen_at(datetime.fromisoformat(request["now"])):
                reply = _evaluate(request, inp, out)
        except ForbiddenCode as err:
            reply = json.dumps({"refused": err.message, "said": err.said.as_dict(), "line": err.line})
        except SyntaxError as err:
            reply = json.dumps({"syntax": str(err.msg), "line": err.lineno})
        except MemoryError:
            mib = memory_bytes // 2**20
            reply = json.dumps({"refused": f"evaluation used more than {mib} MiB of memory",
                                "said": Message(SANDBOX_TOO_MUCH_MEMORY, mib=mib).as_dict(), "line": None})
        except Exception as err:  # the diagram's own error: handed back to be reported as such
            reply = _error(err)
        _send(out, reply)


def main() -> None:
    sys.setrecursionlimit(1000)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but messages on the pipe
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0, inp, out)
