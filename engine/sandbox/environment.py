"""The environment SpiffWorkflow calls: SandboxedEnvironment, its script engine, find_forbidden."""
from __future__ import annotations

import ast
import builtins
import textwrap
import time
from dataclasses import replace
from datetime import date as _Date, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any, Callable, Mapping

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (CycleTimerEventDefinition, DurationTimerEventDefinition,
                                                              TimeDateEventDefinition)
from SpiffWorkflow.exceptions import SpiffWorkflowException

from .. import clock
from ..errors import ForbiddenCode
from ..messages import Message
from . import isolation, timer_bounds, wire
from .budget import FILENAME, Budget, Limits, active_budget, configured, refuse
from .cheap import is_cheap
from .guards import BUILTINS, GUARDS
from .helpers import HELPERS, Today, today
from .policy import compiled_code

_MISSING = object()


def _check_data(name: str | None, value: Any) -> None:
    """Refuse values that would carry diagram code out of the sandbox (functions, generators)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (str, int, float, _Date, timedelta)) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif callable(item) or hasattr(type(item), "__next__"):
            where = f"'{name}' holds" if name else "the expression gave"
            refuse(f"{where} a {type(item).__name__}; only data (numbers, strings, dates, lists, dicts) "
                   "can leave diagram code")


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow's script environment, every evaluation sandboxed (see the package docstring).

    `functions` (e.g. `manager_of`) are callable from diagram code next to HELPERS. Task data
    shadows them as Python globals shadow builtins, except `today`, which is both (see Today).
    Raises ForbiddenCode for refused code, SyntaxError for code that does not parse, and whatever
    the diagram code itself raises.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, *,
                 time_limit: float | None = None, limits: Limits | None = None, isolated: bool = True):
        merged = {**HELPERS, **(functions or {})}
        bad = [name for name in merged if not name.isidentifier() or name.startswith("_")]
        if bad:
            raise ValueError(f"function names must be identifiers not starting with '_': {bad}")
        super().__init__(merged)
        self.functions = dict(functions or {})
        self._limits, self._time_limit = limits, time_limit
        #: False only inside a sandbox process, and to measure what isolation costs (bench/)
        self.isolated = isolated

    @property
    def limits(self) -> Limits:
        """Its own limits, else those `budget.configure` set; `time_limit` wins over both."""
        limits = self._limits or configured()
        return limits if self._time_limit is None else replace(limits, time_limit=self._time_limit)

    @property
    def time_limit(self) -> float:
        return self._time_limit if self._time_limit is not None else self.limits.time_limit

    def evaluate(self, expression: str, context: dict, external_context: Mapping | None = None) -> Any:
        """The value of `expression` over the task data `context`: in this process if it is cheap
        (see `cheap`), else in a sandbox process."""
        code = compiled_code(expression, "eval")
        if self.isolated and not is_cheap(expression):
            return self._in_sandbox_process("eval", expression, context, external_context)["value"]
        result = self._run(code, self._namespace(context, external_context), evaluate=True)
        if isinstance(result, Today):
            return str(result)
        _check_data(None, result)
        if self.isolated:
            wire.check(result, self.limits.result_bytes)
        return result

    def execute(self, script: str, context: dict, external_context: Mapping | None = None) -> bool:
        """Run `script` in a sandbox process, then update `context` with the variables it assigned
        (and drop those it deleted); functions, helpers, builtins and guards never reach the data."""
        code = compiled_code(script, "exec")
        if self.isolated:
            answer = self._in_sandbox_process("exec", script, context, external_context)
            for name in answer["deleted"]:
                context.pop(name, None)
            context.update(answer["set"])
            return True
        namespace = self._namespace(context, external_context)
        provided = dict(namespace)
        self._run(code, namespace, evaluate=False)
        external = external_context or {}
        changes = {}
        for name, value in namespace.items():
            if name.startswith("_") or provided.get(name, _MISSING) is value:
                continue
            if name in external and name not in context:
                continue
            if isinstance(value, Today):
                value = str(value)
            elif callable(value):
                continue  # a function the script defined: as in SpiffWorkflow, not data
            _check_data(name, value)
            changes[name] = value
        for name in [n for n in context if isinstance(n, str) and not n.startswith("_") and n not in namespace]:
            del context[name]
        context.update(changes)
        return True

    def _namespace(self, context: Mapping, external_context: Mapping | None) -> dict[str, Any]:
        namespace = dict(self.globals)
        for source in (external_context or {}, context):
            namespace.update((k, v) for k, v in source.items() if isinstance(k, str) and not k.startswith("_"))
        namespace["today"] = Today(today())
        namespace.update(GUARDS)  # last, so that no data can replace a guard
        namespace["__builtins__"] = BUILTINS
        return namespace

    def _in_sandbox_process(self, mode: str, source: str, context: Mapping,
                            external_context: Mapping | None) -> dict[str, Any]:
        """Evaluate in a sandbox process, sending it only the data the code names."""
        names = _names(source, mode)
        external = external_context or {}
        data = {name: context[name] for name in names if name in context}
        outside = {name: external[name] for name in names if name in external}
        limits = self.limits
        wire.check(data, 8 * limits.result_bytes)
        wire.check(outside, 8 * limits.result_bytes)
        request = {"mode": mode, "source": source, "data": data, "external": outside,
                   "functions": sorted(self.functions), "now": clock.now().isoformat(),
                   "time_limit": limits.time_limit, "result_bytes": limits.result_bytes}
        answer = isolation.pool(limits).run(request, self.functions)
        if "refused" in answer:
            said = Message.from_dict(answer["said"]) if "said" in answer else answer["refused"]
            raise ForbiddenCode(said, answer.get("line"), answer["refused"])
        if "syntax" in answer:
            raise SyntaxError(answer["syntax"], (FILENAME, answer.get("line"), None, None))
        if "error" in answer:
            raise _rebuilt(answer)
        return answer

    def _run(self, code: CodeType, namespace: dict, evaluate: bool) -> Any:
        budget = Budget(self.time_limit, time.monotonic() + self.time_limit)
        token = active_budget.set(budget)
        try:
            result = eval(code, namespace) if evaluate else exec(code, namespace)
        except BaseException as err:
            if budget.refusal is not None and err is not budget.refusal:
                raise budget.refusal from None
            raise
        finally:
            active_budget.reset(token)
        if budget.refusal is not None:
            raise budget.refusal
        return result


@lru_cache(maxsize=4096)
def _names(source: str, mode: str) -> frozenset[str]:
    """Every name the code mentions (diagram code cannot name a variable any other way)."""
    tree = ast.parse(source.strip() if mode == "eval" else textwrap.dedent(source), mode=mode)
    return frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))


def _rebuilt(answer: dict) -> Exception:
    """The diagram code's exception, raised again here: a builtin type with its arguments, and the
    line of the diagram code it came from."""
    kind = getattr(builtins, answer["error"], None)
    try:
        if not (isinstance(kind, type) and issubclass(kind, Exception)):
            raise TypeError(kind)
        err = kind(*answer["args"])
    except Exception:
        err = RuntimeError(f"{answer['error']}: {' '.join(str(a) for a in answer['args'])}")
    err.diagram_line = answer.get("line")
    return err


def _source_line(source: str, line: int | None) -> str:
    lines = source.splitlines()
    return lines[line - 1] if line and 0 < line <= len(lines) else ""


def _shorten(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


_TIMER_KINDS = ((CycleTimerEventDefinition, "timeCycle"), (DurationTimerEventDefinition, "timeDuration"),
                (TimeDateEventDefinition, "timeDate"))


class SandboxedScriptEngine(PythonScriptEngine):
    """PythonScriptEngine over a SandboxedEnvironment that keeps a ForbiddenCode recognisable:
    it becomes the `__cause__` of the WorkflowTaskException SpiffWorkflow expects."""

    def evaluate(self, task, expression, external_context=None):
        try:
            value = self.environment.evaluate(expression, task.data, external_context)
        except ForbiddenCode as err:
            raise WorkflowTaskException(f"forbidden code in expression {_shorten(expression)}: {err.message}",
                                        task=task, exception=err, line_number=err.line) from err
        except SpiffWorkflowException as err:
            err.add_note(f"Error evaluating expression {_shorten(expression)}")
            raise
        except Exception as err:
            raise WorkflowTaskException(f"Error evaluating expression {_shorten(expression)}",
                                        task=task, exception=err) from err
        self._check_timer(task, expression, value)
        return value

    def _check_timer(self, task, expression: str, value: Any) -> None:
        """A timer's value, computed from data, is bounded like a constant one at deployment."""
        definition = getattr(task.task_spec, "event_definition", None)
        kind = next((kind for cls, kind in _TIMER_KINDS if isinstance(definition, cls)), None)
        if kind is None or expression != definition.expression:
            return
        reason = timer_bounds.problem(kind, value, clock.now(), self.environment.limits.timer_horizon_days)
        if reason is not None:
            raise WorkflowTaskException(f"timer {_shorten(str(value))} refused: {reason}", task=task)

    def execute(self, task, script, external_context=None):
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ForbiddenCode as err:
            raise WorkflowTaskException(f"forbidden code: {err.message}", task=task, exception=err,
                                        line_number=err.line, error_line=_source_line(script, err.line)) from err
        except Exception as err:
            wrapped = self.create_task_exec_exception(task, script, err)
            if wrapped is err:
                raise
            raise wrapped from err

    def get_error_line_number_and_content(self, script, err):
        line = err.lineno if isinstance(err, SyntaxError) else getattr(err, "diagram_line", None)
        tb = err.__traceback__
        while line is None and tb is not None:
            if tb.tb_frame.f_code.co_filename == FILENAME:
                line = tb.tb_lineno
            tb = tb.tb_next
        return line or 0, _source_line(script, line)


def make_script_engine(functions: Mapping[str, Callable[..., Any]] | None = None, *,
                       time_limit: float | None = None, limits: Limits | None = None,
                       isolated: bool = True) -> PythonScriptEngine:
    """The script engine to give every BpmnWorkflow: all diagram code runs in the sandbox."""
    return SandboxedScriptEngine(environment=SandboxedEnvironment(functions, time_limit=time_limit, limits=limits,
                                                                  isolated=isolated))


def find_forbidden(exc: BaseException | None) -> ForbiddenCode | None:
    """The ForbiddenCode behind `exc`, however SpiffWorkflow wrapped it (`__cause__`,
    `__context__`, or an `.exception` attribute), else None."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        error = stack.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        if isinstance(error, ForbiddenCode):
            return error
        seen.add(id(error))
        stack.extend((error.__cause__, error.__context__, getattr(error, "exception", None)))
    return None
