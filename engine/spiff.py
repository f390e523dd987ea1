"""The seam to SpiffWorkflow: our Camunda parser extensions and the specless serializer.

Everything that knows SpiffWorkflow's internals lives here, so that an upgrade of the library
touches one module.
"""
from __future__ import annotations

import inspect
import json
from copy import deepcopy
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION, MIGRATIONS
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (CamundaBoundaryEventParser, CamundaEndEventParser,
                                                        CamundaIntermediateCatchEventParser,
                                                        CamundaIntermediateThrowEventParser, CamundaStartEventParser)
from SpiffWorkflow.camunda.parser.task_spec import CAMUNDA_MODEL_NS, BusinessRuleTaskParser, UserTaskParser
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.multiinstance_task import (ParallelMultiInstanceTask as _ParallelMI,
                                                            SequentialMultiInstanceTask as _SequentialMI)
from SpiffWorkflow.camunda.specs.user_task import UserTask
from SpiffWorkflow.bpmn.serializer.default.task_spec import MultiInstanceTaskConverter
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.util.task import TaskIterator, TaskState

from . import forms, values

__all__ = ["PasserelleParser", "serializer", "SERIALIZER_VERSION", "dump_specs", "load_specs",
           "dump_state", "load_state", "prune", "pruned_completed", "UserTask", "EndEvent", "start_form",
           "MAX_DEPTH", "out_of_reach"]

#: how deep in a workflow's task tree SpiffWorkflow looks for work (`TaskIterator(max_depth=...)`):
#: a task below it is never run, and the workflow looks completed without it
MAX_DEPTH = inspect.signature(TaskIterator.__init__).parameters["max_depth"].default

_ASSIGNMENT_ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups", "dueDate")


def _camunda_properties(parser) -> dict[str, str]:
    nodes = parser.xpath("./bpmn:extensionElements/camunda:properties/camunda:property")
    return {node.get("name"): node.get("value") for node in nodes if node.get("name")}


class AssignableUserTaskParser(UserTaskParser):
    """SpiffWorkflow's Camunda parser ignores the assignment fields Camunda Modeler writes on a
    user task; keep them in the task spec's extensions (serialized with the spec)."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        for name in _ASSIGNMENT_ATTRIBUTES:
            value = self.node.get(f"{{{CAMUNDA_MODEL_NS}}}{name}")
            if value:
                extensions[f"camunda:{name}"] = value.strip()
        return extensions


class DecisionRefParser(BusinessRuleTaskParser):
    """Business rule tasks remember which decision they evaluate, for the audit trail."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        extensions["camunda:decisionRef"] = self.get_decision_ref(self.node)
        return extensions


class PropertiesEndEventParser(CamundaEndEventParser):
    """End events keep their camunda:properties (e.g. `end_state`)."""

    def parse_extensions(self, node=None):
        return _camunda_properties(self)


class PropertiesCatchEventParser(CamundaIntermediateCatchEventParser):
    """Catch events keep their camunda:properties (e.g. the `phase` a request waiting there is in)."""

    def parse_extensions(self, node=None):
        return _camunda_properties(self)


class PropertiesBoundaryEventParser(CamundaBoundaryEventParser):
    """Boundary events keep their camunda:properties too."""

    def parse_extensions(self, node=None):
        return _camunda_properties(self)


class PropertiesThrowEventParser(CamundaIntermediateThrowEventParser):
    """Intermediate throw events (milestones) keep their camunda:properties (e.g. `approves_request`)."""

    def parse_extensions(self, node=None):
        return _camunda_properties(self)


class FormStartEventParser(CamundaStartEventParser):
    """A start event may declare the form of the data a request starts with (`camunda:formData`,
    as on a user task); kept as field specs in its extensions (`form`)."""

    get_form = UserTaskParser.get_form  # the user task's form reader, enum fields included
    get_enum_field = UserTaskParser.get_enum_field

    def parse_extensions(self, node=None):
        extensions = _camunda_properties(self)
        if self.xpath("./bpmn:extensionElements/camunda:formData"):
            extensions["form"] = forms.form_spec(self.get_form())
        return extensions


class _BoundedInstances:
    """A multi-instance task creates at most `values.limits.instances` instances: beyond, its step
    fails (SpiffWorkflow would create every one, 200,000 tasks for `loopCardinality` 200000)."""

    def create_child(self, my_task, item, key_or_index=None):
        internal, most = my_task.internal_data, values.limits.instances
        planned = max(sum(1 for _ in self._instances(my_task)) + 1, internal.get("cardinality") or 0,
                      len(internal.get("merged") or ()) + 1 + len(internal.get("remaining") or ()))
        if planned > most:  # one after the other: what is planned counts, not only what exists
            raise WorkflowTaskException(f"more than {most} instances of one multi-instance task", task=my_task)
        return super().create_child(my_task, item, key_or_index)


# Same class names as the library's: stored specs name their class, and load as these.
class ParallelMultiInstanceTask(_BoundedInstances, _ParallelMI):
    pass


class SequentialMultiInstanceTask(_BoundedInstances, _SequentialMI):
    pass


_BOUNDED = {_ParallelMI: ParallelMultiInstanceTask, _SequentialMI: SequentialMultiInstanceTask}


class PasserelleParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (AssignableUserTaskParser, UserTask),
        full_tag("startEvent"): (FormStartEventParser, StartEvent),
        full_tag("endEvent"): (PropertiesEndEventParser, EndEvent),
        full_tag("intermediateThrowEvent"): (PropertiesThrowEventParser, IntermediateThrowEvent),
        full_tag("intermediateCatchEvent"): (PropertiesCatchEventParser, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (PropertiesBoundaryEventParser, BoundaryEvent),
        full_tag("businessRuleTask"): (DecisionRefParser, BusinessRuleTask),
    }

    def get_spec(self, process_id, *args, **kwargs):
        return _bounded(super().get_spec(process_id, *args, **kwargs))

    def get_subprocess_specs(self, name, *args, **kwargs):
        return {key: _bounded(spec) for key, spec in super().get_subprocess_specs(name, *args, **kwargs).items()}


def _bounded(spec):
    """The library's parser builds its own multi-instance classes: make them ours (same state)."""
    for task_spec in spec.task_specs.values():
        bounded = _BOUNDED.get(type(task_spec))
        if bounded is not None:
            task_spec.__class__ = bounded
    return spec


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Stores a workflow's state without its specs: the specs are stored once per deployed version,
    so an instance's saved state grows with its own history only."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        dct[_PRUNED_KEY] = sorted(pruned_completed(workflow))
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        workflow.passerelle_pruned_completed = set(dct.get(_PRUNED_KEY, ()))
        return workflow


#: where a saved state lists the BPMN ids of the completed tasks that `prune` forgot
_PRUNED_KEY = "passerelle_pruned_completed"


def _uuid(value):
    from uuid import UUID
    return UUID(value)


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    for library_class, bounded in _BOUNDED.items():
        config.pop(library_class, None)
        config[bounded] = MultiInstanceTaskConverter
    registry = BpmnWorkflowSerializer.configure(config)
    return BpmnWorkflowSerializer(registry)


serializer = _make_serializer()
_specless = _SpeclessWorkflowConverter(BpmnWorkflow, serializer.registry)


def dump_specs(spec, subprocess_specs) -> str:
    """Serialize a process's specs once, at deployment."""
    return json.dumps({
        serializer.VERSION_KEY: SERIALIZER_VERSION,
        "spec": serializer.to_dict(spec),
        "subprocess_specs": {name: serializer.to_dict(s) for name, s in subprocess_specs.items()},
    })


@lru_cache(maxsize=128)
def load_specs(spec_json: str):
    """Restore (and cache) the specs of a deployed version. Specs are shared, never mutated."""
    dct = json.loads(spec_json)
    spec = serializer.from_dict(dct["spec"])
    subprocess_specs = {name: serializer.from_dict(s) for name, s in dct["subprocess_specs"].items()}
    return spec, subprocess_specs


@lru_cache(maxsize=128)
def specs_are_current(spec_json: str) -> bool:
    """Whether stored specs were written by this SpiffWorkflow's serializer (else: re-parse the BPMN)."""
    return json.loads(spec_json).get(serializer.VERSION_KEY) == SERIALIZER_VERSION


def dump_state(workflow: BpmnWorkflow) -> str:
    """The workflow's state without its specs, after forgetting the history it no longer needs."""
    prune(workflow)
    serializer.registry._encoder_mode = True
    try:
        return json.dumps(_specless.to_dict(workflow), cls=serializer._encoder_cls)
    finally:
        serializer.registry._encoder_mode = False


def load_state(state: str, specs: tuple, stored_version: str, script_engine,
               spec_json: str | None = None) -> BpmnWorkflow:
    """Restore a workflow from its stored state and its version's (spec, subprocess_specs),
    migrating state written by an older serializer (which needs the serialized specs, `spec_json`)."""
    dct = json.loads(state, cls=serializer.json_decoder_cls)
    if stored_version != SERIALIZER_VERSION and stored_version in MIGRATIONS:
        if spec_json is None:
            raise ValueError(f"a state saved by serializer {stored_version} needs spec_json to migrate")
        # The library's migrations expect the full document, specs included.
        full = deepcopy(json.loads(spec_json))
        full.update(dct)
        full[serializer.VERSION_KEY] = stored_version
        serializer.migrate(full)
        full.pop("spec"), full.pop("subprocess_specs"), full.pop(serializer.VERSION_KEY, None)
        dct = full
    spec, subprocess_specs = specs
    workflow = _specless.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


#: generations of finished tasks kept above the lowest common ancestor of the unfinished ones
PRUNE_MARGIN = 3


def prune(workflow: BpmnWorkflow, margin: int = PRUNE_MARGIN) -> int:
    """Forget the finished history that can no longer influence what the workflow does next.

    SpiffWorkflow keeps every task it ever ran: an instance sent round a rework loop 50 times
    carries 50 copies of the loop, and loading, running and saving it costs more each time. What
    the engine still reads of the past is local: joins and boundary events look at the tasks
    between their split and the open tasks; new tasks take their data from their parent. So the
    tree is cut `margin` generations above the lowest common ancestor of all unfinished tasks, and
    that task becomes the root (its data is complete; its descendants keep theirs). The BPMN ids
    of the completed tasks dropped are kept (`pruned_completed`) for highlighting the diagram; the
    audit trail holds the full story. Workflows with subprocesses are left whole (their task ids
    link two trees). Returns the number of tasks forgotten.
    """
    if workflow.subprocesses:
        return 0
    tasks = workflow.tasks
    unfinished = [t for t in tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return 0
    path = [unfinished[0]]  # from the first unfinished task up to the root
    while path[-1]._parent is not None:
        path.append(tasks[path[-1]._parent])
    depth_of = {task.id: len(path) - 1 - i for i, task in enumerate(path)}
    lowest = depth_of[path[0].id]
    for task in unfinished[1:]:
        while task.id not in depth_of:
            task = tasks[task._parent]
        lowest = min(lowest, depth_of[task.id])
    new_depth = max(0, lowest - margin)
    if new_depth == 0:
        return 0
    new_root = path[len(path) - 1 - new_depth]
    kept, stack = set(), [new_root.id]
    while stack:
        task_id = stack.pop()
        kept.add(task_id)
        stack.extend(tasks[task_id]._children)
    forgotten = [task for task_id, task in tasks.items() if task_id not in kept]
    pruned_completed(workflow).update(t.task_spec.bpmn_id for t in forgotten
                                      if t.state == TaskState.COMPLETED and getattr(t.task_spec, "bpmn_id", None))
    for task in forgotten:
        del tasks[task.id]
        workflow.event_manager.remove_task(task)
    new_root._parent = None
    workflow.task_tree = new_root
    if workflow.last_task is not None and workflow.last_task.id not in kept:
        workflow.last_task = None
    return len(forgotten)


def pruned_completed(workflow: BpmnWorkflow) -> set[str]:
    """BPMN ids of completed tasks that `prune` removed from the workflow's tree."""
    if not hasattr(workflow, "passerelle_pruned_completed"):
        workflow.passerelle_pruned_completed = set()
    return workflow.passerelle_pruned_completed


def extensions_of(task_spec) -> dict[str, Any]:
    return getattr(task_spec, "extensions", None) or {}


def start_form(spec) -> tuple[dict[str, Any], bool]:
    """The form the data given at start must fill, and whether it is partial.

    The start event's own form (`camunda:formData` on it) is the whole form: it is validated as a
    task's is, required fields included. Without one, the data may pre-fill the fields of the first
    user tasks (those reached from the start without passing another user task): each value given
    is validated, and the task itself asks for the rest. Nothing else may be set at start.
    """
    starts = [t for t in spec.task_specs.values() if isinstance(t, StartEvent)]
    for start in starts:
        form = extensions_of(start).get("form")
        if form:
            return form, False
    fields: dict[str, dict[str, Any]] = {}
    seen, todo = set(), list(starts)
    while todo:
        task_spec = todo.pop(0)
        if task_spec.name in seen:
            continue
        seen.add(task_spec.name)
        if isinstance(task_spec, UserTask):
            for field in forms.form_spec(getattr(task_spec, "form", None))["fields"]:
                fields.setdefault(field["id"], field)
            continue
        todo.extend(task_spec.outputs)
    return {"fields": list(fields.values())}, True


def out_of_reach(workflow: BpmnWorkflow):
    """An unfinished task deeper than SpiffWorkflow looks for work (MAX_DEPTH), or None.

    Such a task is never run and the workflow looks completed without it: an automated loop that
    went round some 500 times in one step. Costs one pass over the tasks, depths memoised.
    """
    for tree in (workflow, *workflow.subprocesses.values()):
        tasks, depth = tree.tasks, {}

        def depth_of(task) -> int:
            path = []
            while task.id not in depth and task._parent is not None and task._parent in tasks:
                path.append(task)
                task = tasks[task._parent]
            known = depth.setdefault(task.id, 0)
            for i, step in enumerate(reversed(path), start=1):
                depth[step.id] = known + i
            return depth[path[0].id] if path else known

        for task in tasks.values():
            if not task.has_state(TaskState.FINISHED_MASK) and depth_of(task) >= MAX_DEPTH:
                return task
    return None
