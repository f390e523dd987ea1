"""Measurement 6: what evaluating diagram code in sandbox processes costs a task completion.

A task completion through the persisted engine (one unit of work, as in measurement 1) with the
sandbox as shipped — scripts and expressions that are not provably cheap run in a sandbox process
(engine/sandbox/isolation.py) — divided by the same completion with every evaluation in the
server's own process, as before. The two modes alternate completion by completion on the same
instances (the flag is the script engine's `isolated`), so that machine noise hits both alike.
Two diagrams: bench/diagrams/scripted_loop.bpmn (a script and two conditions after each edit, the
case isolation costs) and bench/diagrams/rework_loop.bpmn (conditions only: the fast path).
"""
from __future__ import annotations

from contextlib import contextmanager
from time import perf_counter

from engine import runtime, start_instance, unit_of_work

from .databases import LOOP_KEY, SCRIPTED_KEY
from .engine_cost import AUTHOR, EDIT, REVIEWER, REWORK, Persisted, Sizes
from .stats import median_ms, ratio


@contextmanager
def _isolated(flag: bool):
    environment = runtime._script_engine.environment
    before, environment.isolated = environment.isolated, flag
    try:
        yield
    finally:
        environment.isolated = before


def _measure_key(sessions, key: str, sizes: Sizes) -> dict:
    persisted = Persisted(sessions)

    def start():
        with unit_of_work(sessions) as s:
            return start_instance(s, key, persisted._user(s, AUTHOR), {}).id

    times = {True: [], False: []}
    warm = start()
    for flag in (True, False):
        with _isolated(flag):
            persisted.complete(warm, AUTHOR, EDIT)
            persisted.complete(warm, REVIEWER, REWORK)
    count = 0
    for _ in range(sizes.overhead_instances):
        instance_id = start()
        for _ in range(sizes.overhead_rounds):
            for username, data in ((AUTHOR, EDIT), (REVIEWER, REWORK)):
                flag = count % 2 == 0
                with _isolated(flag):
                    times[flag].append(persisted.complete(instance_id, username, data))
                count += 1
    return {
        "completions": count,
        "isolated_median_ms": round(median_ms(times[True]), 3),
        "in_process_median_ms": round(median_ms(times[False]), 3),
        "ratio": ratio(median_ms(times[True]), median_ms(times[False])),
    }


SCRIPT = ("words = [w.strip('.,;') for w in body.split()]\nsummary = title.strip() + ': ' + ' '.join(words[:12])\n"
          "word_count = len(words)\nlongest = max([len(w) for w in words] or [0])")


def _measure_script(samples: int) -> dict:
    """The script of scripted_loop.bpmn alone, evaluated in a sandbox process / in-process."""
    environment = runtime._script_engine.environment
    times = {True: [], False: []}
    for i in range(2 * samples + 2):
        flag = i % 2 == 0
        data = dict(EDIT)
        with _isolated(flag):
            started = perf_counter()
            environment.execute(SCRIPT, data)
            if i >= 2:  # the first of each: warm-up
                times[flag].append(perf_counter() - started)
    return {"evaluations": 2 * samples, "isolated_median_ms": round(median_ms(times[True]), 3),
            "in_process_median_ms": round(median_ms(times[False]), 3),
            "ratio": ratio(median_ms(times[True]), median_ms(times[False]))}


def measure(sessions, sizes: Sizes, log=print) -> dict:
    out = {"scripted": _measure_key(sessions, SCRIPTED_KEY, sizes), "conditions": _measure_key(sessions, LOOP_KEY, sizes),
           "script_alone": _measure_script(10 * sizes.overhead_instances * sizes.overhead_rounds)}
    for name, figures in out.items():
        log(f"    isolation ({name}): {figures['ratio']}x ({figures['isolated_median_ms']} ms in a sandbox process "
            f"vs {figures['in_process_median_ms']} ms in-process)")
    return out
