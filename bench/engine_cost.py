"""Measurements 1 and 2: what the persisted engine adds to SpiffWorkflow's own cost of a task
completion, and how both grow with an instance's history.

The diagram is bench/diagrams/rework_loop.bpmn: `edit` (the starter) -> `review` (coordinator
group, approve | rework) -> back to `edit` on rework. The *persisted* side is one unit of work
per completion — load, validate, run, save, audit, commit — exactly what a request does. The
*bare* side is the same deployed spec in an in-memory BpmnWorkflow with the same script engine,
timing only `task.data.update(...); task.run(); workflow.do_engine_steps()`. The two sides run in
lockstep, alternating which goes first, so that machine noise hits both alike.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from time import perf_counter

from sqlalchemy import bindparam, func, insert, select, update
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import clock, complete_task, find_user, get_version, spiff, start_instance, unit_of_work
from engine.models import AuditEvent, HumanTask, Instance
from engine.sandbox import make_script_engine

from .databases import LOOP_KEY
from .stats import median_ms, ratio

AUTHOR, REVIEWER = "thomas", "luc"
EDIT = {"title": "Draft of the mission sheet", "body": "A paragraph of text, as a person would write. " * 6, "days": 5}
REWORK = {"decision": "rework", "comment": "Please make the objectives more precise."}


@dataclass(frozen=True)
class Sizes:
    overhead_instances: int = 12   # instances for measurement 1, each going round `overhead_rounds`
    overhead_rounds: int = 5
    growth_instances: int = 8      # instances carried round the loop `growth_rounds` times
    growth_rounds: int = 50
    growth_samples: int = 32       # interleaved fresh/old round pairs for the growth ratio


QUICK = Sizes(overhead_instances=2, overhead_rounds=2, growth_instances=2, growth_rounds=4, growth_samples=4)


class Persisted:
    """Drives instances of the loop through the engine, one unit of work per completion."""

    def __init__(self, sessions):
        self.sessions = sessions
        self._floor_task: int | None = None
        self._floor_seq = 0
        with unit_of_work(sessions) as s:
            self.user_ids = {name: find_user(s, name).id for name in (AUTHOR, REVIEWER)}
            self.spec_json = get_version(s, LOOP_KEY).spec_json

    def start(self) -> int:
        with unit_of_work(self.sessions) as s:
            return start_instance(s, LOOP_KEY, self._user(s, AUTHOR), {}).id

    def complete(self, instance_id: int, username: str, data: dict) -> float:
        with unit_of_work(self.sessions) as s:  # finding the task is the caller's business: untimed
            task_id = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                          HumanTask.status == "ready"))
        started = perf_counter()
        with unit_of_work(self.sessions) as s:
            complete_task(s, task_id, self._user(s, username), data)
        return perf_counter() - started

    def floor(self, instance_id: int) -> float:
        """The least any persisted engine of this design does per completion: read the instance
        row under its lock and write its state back, in one transaction — no SpiffWorkflow at all."""
        started = perf_counter()
        with unit_of_work(self.sessions) as s:
            instance = s.get(Instance, instance_id, with_for_update=True)
            instance.state = instance.state + " "  # a real write of the same size
        return perf_counter() - started

    def floor_writes(self, instance_id: int, workflow: BpmnWorkflow) -> float:
        """The least a persisted completion must do beside SpiffWorkflow's step, with SQLAlchemy
        Core and no ORM: read the instance row under its lock; mark the done task; insert the next
        one; append two audit events (done, created); serialize `workflow` and write that state —
        one transaction; no candidates, no mail, no validation. Rows go to an instance of their own."""
        engine = self.sessions.kw["bind"]
        if self._floor_task is None:
            with unit_of_work(self.sessions) as s:
                self._floor_task = s.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
                self._floor_seq = s.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.instance_id == instance_id))
        now = clock.now()  # as the engine reads it
        started = perf_counter()
        with engine.begin() as c:
            _state, version = c.execute(_READ_LOCKED, {"instance": instance_id}).one()
            c.execute(_MARK_DONE, {"task": self._floor_task, "at": now, "by": AUTHOR, "data": EDIT})
            c.execute(_NEXT_TASK, {"instance_id": instance_id, "spiff_task_id": "floor", "bpmn_id": "review",
                                   "title": "Review", "status": "ready", "created_at": now, "form": {}})
            c.execute(_EVENT, [{"instance_id": instance_id, "seq": self._floor_seq + k, "at": now, "actor": AUTHOR,
                                "type": kind, "data": EDIT, "prev_hash": "0" * 64, "hash": "0" * 64}
                               for k, kind in ((1, "task_completed"), (2, "task_created"))])
            c.execute(_WRITE_STATE, {"instance": instance_id, "new_state": spiff.dump_state(workflow), "old": version,
                                     "new": version + 1})
        self._floor_seq += 2
        return perf_counter() - started

    def state_size(self, instance_id: int) -> int:
        with unit_of_work(self.sessions) as s:
            return s.scalar(select(func.length(Instance.state)).where(Instance.id == instance_id))

    def _user(self, session, username):
        from engine.models import User
        return session.get(User, self.user_ids[username])


_instance, _task = Instance.__table__, HumanTask.__table__
_READ_LOCKED = (select(_instance.c.state, _instance.c.lock_version).where(_instance.c.id == bindparam("instance"))
                .with_for_update())
_MARK_DONE = (update(_task).where(_task.c.id == bindparam("task"))
              .values(status="completed", completed_at=bindparam("at"), completed_by=bindparam("by"),
                      data=bindparam("data")))
_NEXT_TASK = insert(_task)
_EVENT = insert(AuditEvent.__table__)
_WRITE_STATE = (update(_instance).where(_instance.c.id == bindparam("instance"),
                                        _instance.c.lock_version == bindparam("old"))
                .values(state=bindparam("new_state"), lock_version=bindparam("new")))


class Bare:
    """The same deployed spec in an in-memory workflow, with the same script engine."""

    def __init__(self, spec_json: str):
        self.spec, self.subprocess_specs = spiff.load_specs(spec_json)
        self.script_engine = make_script_engine()

    def start(self) -> BpmnWorkflow:
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        workflow.task_tree.data.update(started_by=AUTHOR, started_at="2026-01-05T09:00:00+00:00")
        workflow.do_engine_steps()
        return workflow

    @staticmethod
    def complete(workflow: BpmnWorkflow, data: dict) -> float:
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        started = perf_counter()
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
        return perf_counter() - started

    @staticmethod
    def task_count(workflow: BpmnWorkflow) -> int:
        return len(workflow.tasks)


def _round(persisted: Persisted, bare: Bare, instance_id: int, workflow: BpmnWorkflow,
           persisted_first: bool) -> tuple[list[float], list[float]]:
    """One time round the loop (edit, then review sent back) on both sides; per-completion times."""
    p_times, b_times = [], []
    for username, data in ((AUTHOR, EDIT), (REVIEWER, REWORK)):
        if persisted_first:
            p_times.append(persisted.complete(instance_id, username, data))
            b_times.append(bare.complete(workflow, data))
        else:
            b_times.append(bare.complete(workflow, data))
            p_times.append(persisted.complete(instance_id, username, data))
        persisted_first = not persisted_first
    return p_times, b_times


def measure(sessions, sizes: Sizes, log=print) -> dict:
    persisted = Persisted(sessions)
    bare = Bare(persisted.spec_json)
    _round(persisted, bare, persisted.start(), bare.start(), True)  # warm caches on both sides

    # 1. Overhead: fresh instances, a few rounds each, pairwise interleaved; the two floors (a bare
    # read-and-write of the instance row; the least writes of a completion) are timed beside them,
    # each on an instance of its own.
    p_all, b_all, f_all, w_all = [], [], [], []
    floor_instance, writes_instance, writes_workflow = persisted.start(), persisted.start(), bare.start()
    bare.complete(writes_workflow, EDIT)  # a workflow waiting for its review, as after a step
    for i in range(sizes.overhead_instances):
        instance_id, workflow = persisted.start(), bare.start()
        for r in range(sizes.overhead_rounds):
            p, b = _round(persisted, bare, instance_id, workflow, persisted_first=(i + r) % 2 == 0)
            p_all += p
            b_all += b
            f_all += [persisted.floor(floor_instance) for _ in p]
            w_all += [persisted.floor_writes(writes_instance, writes_workflow) for _ in p]
    overhead = {
        "completions": len(p_all),
        "persisted_median_ms": round(median_ms(p_all), 3),
        "bare_median_ms": round(median_ms(b_all), 3),
        "ratio": ratio(median_ms(p_all), median_ms(b_all)),
        "floor_median_ms": round(median_ms(f_all), 3),
        "floor_ratio": ratio(median_ms(f_all), median_ms(b_all)),
        "floor_writes_median_ms": round(median_ms(w_all), 3),
        "floor_writes_ratio": ratio(median_ms(w_all), median_ms(b_all)),
        # the least any engine that writes those rows with SQLAlchemy and runs the step could take
        "least_ratio": ratio(median_ms(w_all) + median_ms(b_all), median_ms(b_all)),
    }
    log(f"    overhead: {overhead['ratio']}x ({overhead['persisted_median_ms']} ms vs {overhead['bare_median_ms']} ms; "
        f"floor: read + write the instance row {overhead['floor_median_ms']} ms = {overhead['floor_ratio']}x; "
        f"least writes in Core {overhead['floor_writes_median_ms']} ms = {overhead['floor_writes_ratio']}x)")

    # Cost curve: carry instances round the loop, timing every round on both sides; beside each
    # round, a first round on a brand-new instance is the reference of the same moment.
    old = [(persisted.start(), bare.start()) for _ in range(sizes.growth_instances)]
    curve_p = [[] for _ in range(sizes.growth_rounds)]
    curve_b = [[] for _ in range(sizes.growth_rounds)]
    ref_p = [[] for _ in range(sizes.growth_rounds)]
    ref_b = [[] for _ in range(sizes.growth_rounds)]
    for r in range(sizes.growth_rounds):
        for k, (instance_id, workflow) in enumerate(old):
            p, b = _round(persisted, bare, instance_id, workflow, persisted_first=(r + k) % 2 == 0)
            curve_p[r].append(statistics.mean(p))
            curve_b[r].append(statistics.mean(b))
            if k % 4 == 0:
                p, b = _round(persisted, bare, persisted.start(), bare.start(), persisted_first=(r + k) % 2 == 1)
                ref_p[r].append(statistics.mean(p))
                ref_b[r].append(statistics.mean(b))
    state_fresh = persisted.state_size(persisted.start())
    state_old = persisted.state_size(old[0][0])
    tasks_old = Bare.task_count(old[0][1])

    # 2. Growth: alternate rounds on brand-new instances and on the old ones (now `growth_rounds`
    # times round the loop), so that both are measured over the same stretch of time.
    fresh_p, fresh_b, old_p, old_b = [], [], [], []
    for i in range(sizes.growth_samples):
        instance_id, workflow = old[i % len(old)]
        new_id, new_workflow = persisted.start(), bare.start()
        first = i % 2 == 0
        targets = ((new_id, new_workflow, fresh_p, fresh_b), (instance_id, workflow, old_p, old_b))
        for target in targets if first else targets[::-1]:
            p, b = _round(persisted, bare, target[0], target[1], persisted_first=first)
            target[2].append(statistics.mean(p))
            target[3].append(statistics.mean(b))
    growth = {
        "rounds": sizes.growth_rounds,
        "samples": len(old_p),
        "persisted_fresh_ms": round(median_ms(fresh_p), 3),
        "persisted_old_ms": round(median_ms(old_p), 3),
        "persisted_ratio": ratio(median_ms(old_p), median_ms(fresh_p)),
        "bare_fresh_ms": round(median_ms(fresh_b), 3),
        "bare_old_ms": round(median_ms(old_b), 3),
        "bare_ratio": ratio(median_ms(old_b), median_ms(fresh_b)),
        "state_bytes_fresh": state_fresh,
        "state_bytes_old": state_old,
        "spiff_tasks_old": tasks_old,
    }
    growth["added_ms_old"] = round(growth["persisted_old_ms"] - growth["bare_old_ms"], 3)
    growth["added_ms_fresh"] = round(growth["persisted_fresh_ms"] - growth["bare_fresh_ms"], 3)
    log(f"    growth over {sizes.growth_rounds} rounds: persisted {growth['persisted_ratio']}x, "
        f"bare {growth['bare_ratio']}x; state {state_fresh} -> {state_old} bytes")
    def window(samples, r):  # the fresh references of rounds r-2 .. r+2
        return [t for rs in samples[max(0, r - 2):r + 3] for t in rs]

    rounds = range(sizes.growth_rounds)
    curve = {
        "round": list(rounds),
        "persisted_ms": [round(median_ms(c), 3) for c in curve_p],
        "bare_ms": [round(median_ms(c), 3) for c in curve_b],
        "persisted_growth": [ratio(median_ms(curve_p[r]), median_ms(window(ref_p, r))) for r in rounds],
        "bare_growth": [ratio(median_ms(curve_b[r]), median_ms(window(ref_b, r))) for r in rounds],
    }
    return {"overhead": overhead, "growth": growth, "curve": curve}
