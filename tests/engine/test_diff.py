"""engine.diff tells a process owner what a new version changes, element by element, and
stays silent about layout. Variants are made by editing corpus files in memory. Changes are codes
and parameters (their words: tests/web/test_deploy_texts.py)."""
from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from engine.diff import CATEGORIES, CHANGE_CODES, FACTS, Change, diff_bundles
from engine.errors import InvalidBundle
from engine.xml import BPMN_NS, BPMNDI_NS, CAMUNDA_NS, DC_NS, DI_NS, parse_xml

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bpmn-corpus"
B, C = f"{{{BPMN_NS}}}", f"{{{CAMUNDA_NS}}}"
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def invoice_bundle(**replace: bytes) -> dict[str, bytes]:
    files = {"invoice.bpmn": corpus("camunda-invoice.v2.bpmn"),
             "invoiceBusinessDecisions.dmn": corpus("camunda-invoiceBusinessDecisions.dmn"),
             "README.md": b"What the process is for."}
    return {**files, **replace}


def edited(name: str, edit: Callable[[etree._Element], None]) -> bytes:
    """The corpus file `name` after `edit` changed its tree."""
    root = parse_xml(corpus(name), name)
    edit(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def find(root: etree._Element, tag: str, element_id: str) -> etree._Element:
    found = root.find(f".//{tag}[@id='{element_id}']")
    assert found is not None, element_id
    return found


def loan_diff(edit: Callable[[etree._Element], None]) -> list[Change]:
    name = "camunda-loanApproval.bpmn"
    return diff_bundles({"loan.bpmn": corpus(name)}, {"loan.bpmn": edited(name, edit)})


def test_identical_bundles_have_no_changes():
    assert diff_bundles(invoice_bundle(), invoice_bundle()) == []


def test_layout_only_changes_are_not_changes():
    def move_everything(root):
        for bounds in root.iter(f"{{{DC_NS}}}Bounds"):
            bounds.set("x", str(float(bounds.get("x")) + 120))
        for point in root.iter(f"{{{DI_NS}}}waypoint"):
            point.set("y", str(float(point.get("y")) - 40))
        for shape in root.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
            shape.set("isHorizontal", "true")

    moved = edited("camunda-invoice.v2.bpmn", move_everything)
    assert moved != corpus("camunda-invoice.v2.bpmn")
    assert diff_bundles(invoice_bundle(), invoice_bundle(**{"invoice.bpmn": moved})) == []


def test_an_added_task_is_reported_with_its_lane_and_flows():
    def add_task(root):
        process = find(root, f"{B}process", "invoice")
        task = etree.SubElement(process, f"{B}userTask", id="checkBudget", name="Check budget")
        task.set(f"{C}candidateGroups", "accounting")
        etree.SubElement(process, f"{B}sequenceFlow", id="toBudget", sourceRef="approveInvoice",
                         targetRef="checkBudget")
        etree.SubElement(find(root, f"{B}lane", "Approver"), f"{B}flowNodeRef").text = "checkBudget"

    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{
        "invoice.bpmn": edited("camunda-invoice.v2.bpmn", add_task)}))
    assert changes == [
        Change("flow", "toBudget", "added", "flow.added",
               {"kind": 'sequenceFlow', "source": "'Approve Invoice'", "target": "'Check budget'"}),
        Change("task", "checkBudget", "added", "element.added",
               {"kind": 'userTask', "element": "'Check budget'", "lane": "'Approver'"}),
    ]


def test_a_removed_task_is_reported_with_its_flows():
    def remove_archiving(root):
        for tag, element_id in ((f"{B}serviceTask", "ServiceTask_1"), (f"{B}sequenceFlow", "SequenceFlow_3")):
            element = find(root, tag, element_id)
            element.getparent().remove(element)
        find(root, f"{B}sequenceFlow", "SequenceFlow_2").set("targetRef", "invoiceProcessed")
        lane = find(root, f"{B}lane", "Accountant")
        lane.remove([ref for ref in lane if ref.text == "ServiceTask_1"][0])

    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{
        "invoice.bpmn": edited("camunda-invoice.v2.bpmn", remove_archiving)}))
    assert changes == [
        Change("flow", "SequenceFlow_2", "changed", "fact.changed",
               {"fact": 'target', "before": "'Archive Invoice'", "after": "'Invoice processed'"}),
        Change("flow", "SequenceFlow_3", "removed", "flow.removed",
               {"kind": 'sequenceFlow', "source": "'Archive Invoice'", "target": "'Invoice processed'"}),
        Change("task", "ServiceTask_1", "removed", "element.removed",
               {"kind": 'serviceTask', "element": "'Archive Invoice'", "lane": "'Accountant'"}),
    ]


def test_a_changed_flow_condition():
    def stricter(root):
        find(root, f"{B}sequenceFlow", "invoiceApproved").find(f"{B}conditionExpression").text = \
            "${approved && amount < 10000}"

    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{
        "invoice.bpmn": edited("camunda-invoice.v2.bpmn", stricter)}))
    assert changes == [Change("flow", "invoiceApproved", "changed", "fact.changed",
                              {"fact": 'condition', "before": '`${approved}`',
                               "after": '`${approved && amount < 10000}`'})]


def test_an_added_form_field():
    def add_comment(root):
        form = find(root, f"{B}userTask", "UserTask_1").find(f".//{C}formData")
        etree.SubElement(form, f"{C}formField", id="comment", label="Comment", type="string")

    assert loan_diff(add_comment) == [Change("form", "UserTask_1", "added", "field.added",
                                             {"field": 'comment'})]


def test_a_changed_and_an_added_constraint():
    def constrain(root):
        start = find(root, f"{B}startEvent", "StartEvent_1")
        start.find(f".//{C}formField[@id='firstname']//{C}constraint[@name='maxlength']").set("config", "40")
        validation = start.find(f".//{C}formField[@id='netIncome']/{C}validation")
        etree.SubElement(validation, f"{C}constraint", name="min", config="0")

    assert loan_diff(constrain) == [
        Change("form", "StartEvent_1", "changed", "fact.changed",
               {"field": 'firstname', "fact": 'constraint', "name": 'maxlength', "before": '`25`', "after": '`40`'}),
        Change("form", "StartEvent_1", "changed", "fact.added",
               {"field": 'netIncome', "fact": 'constraint', "name": 'min', "value": '`0`'}),
    ]


def test_enum_values_and_field_types():
    def edit(root):
        field = find(root, f"{B}startEvent", "StartEvent_1").find(f".//{C}formField[@id='loanType']")
        field.remove(field.find(f"{C}value[@id='cashAdvance']"))
        etree.SubElement(field, f"{C}value", id="consumer", name="Consumer Loan (7%)")
        find(root, f"{B}userTask", "UserTask_1").find(f".//{C}formField[@id='approved']").set("type", "enum")

    assert loan_diff(edit) == [
        Change("form", "StartEvent_1", "changed", "fact.added",
               {"field": 'loanType', "fact": 'value', "name": 'consumer', "value": "'Consumer Loan (7%)'"}),
        Change("form", "StartEvent_1", "changed", "fact.removed",
               {"field": 'loanType', "fact": 'value', "name": 'cashAdvance', "value": "'Cash Advance (10%)'"}),
        Change("form", "UserTask_1", "changed", "fact.changed",
               {"field": 'approved', "fact": 'type', "before": '`boolean`', "after": '`enum`'}),
    ]


def test_a_changed_assignee():
    def reassign(root):
        find(root, f"{B}userTask", "UserTask_1").set(f"{C}assignee", "${manager_of(agent)}")

    assert loan_diff(reassign) == [Change("assignment", "UserTask_1", "changed", "fact.changed",
                                          {"fact": 'assignee', "before": '`demo`',
                                           "after": '`${manager_of(agent)}`'})]


def test_candidate_groups_and_lane_moves():
    def edit(root):
        find(root, f"{B}userTask", "prepareBankTransfer").set(f"{C}candidateGroups", "accounting,hr")
        accountant, approver = find(root, f"{B}lane", "Accountant"), find(root, f"{B}lane", "Approver")
        ref = [r for r in accountant if r.text == "prepareBankTransfer"][0]
        accountant.remove(ref)
        approver.append(ref)
        approver.set("name", "Approvers")

    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{
        "invoice.bpmn": edited("camunda-invoice.v2.bpmn", edit)}))
    assert changes == [
        Change("assignment", "prepareBankTransfer", "changed", "fact.changed",
               {"fact": 'candidate_groups', "before": '`accounting`', "after": '`accounting,hr`'}),
        Change("lane", "Accountant", "changed", "lane.moved_out",
               {"element": "'Prepare Bank Transfer'"}),
        Change("lane", "Approver", "changed", "fact.changed",
               {"fact": 'name', "before": "'Approver'", "after": "'Approvers'"}),
        Change("lane", "Approver", "changed", "lane.moved_in",
               {"element": "'Prepare Bank Transfer'"}),
    ]


def test_a_renamed_task_and_a_changed_timer():
    name = "spiff-timer-non-interrupt-boundary.bpmn"

    def edit(root):
        timer = root.find(f".//{B}timeDuration")
        timer.text = '"PT5M"'
        find(root, f"{B}userTask", "GetReason").set("name", "Reason for the delay")

    changes = diff_bundles({"t.bpmn": corpus(name)}, {"t.bpmn": edited(name, edit)})
    boundary = parse_xml(corpus(name)).find(f".//{B}boundaryEvent").get("id")
    assert changes == [
        Change("event", boundary, "changed", "fact.changed",
               {"fact": 'timer_duration', "before": '`"PT0.2S"`', "after": '`"PT5M"`'}),
        Change("task", "GetReason", "changed", "fact.changed",
               {"fact": 'name', "before": "'Delay Reason'", "after": "'Reason for the delay'"}),
    ]


def test_a_changed_number_in_a_dmn_cell_names_the_rule_row():
    dmn = corpus("camunda-invoiceBusinessDecisions.dmn").replace(b"[250..1000]", b"[250..2000]")
    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{"invoiceBusinessDecisions.dmn": dmn}))
    assert changes == [Change("rule", "invoiceClassification", "changed", "rule.cell_changed",
                              {"row": 2, "side": 'input', "column": 'Invoice Amount', "before": '`[250..1000]`',
                               "after": '`[250..2000]`'})]


def test_dmn_outputs_hit_policy_and_rows():
    def edit(root):
        table = find(root, f"{DMN}decision", "invoice-assign-approver").find(f"{DMN}decisionTable")
        table.set("hitPolicy", "FIRST")
        rules = table.findall(f"{DMN}rule")
        rules[0].find(f"{DMN}outputEntry/{DMN}text").text = '"management"'
        table.remove(rules[1])

    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{
        "invoiceBusinessDecisions.dmn": edited("camunda-invoiceBusinessDecisions.dmn", edit)}))
    assert changes == [
        Change("rule", "invoice-assign-approver", "changed", "fact.changed",
               {"fact": 'hit_policy', "before": '`COLLECT`', "after": '`FIRST`'}),
        Change("rule", "invoice-assign-approver", "removed", "rule.removed",
               {"row": 2, "inputs": '`"day-to-day expense"`', "outputs": '`"sales"`'}),
        Change("rule", "invoice-assign-approver", "changed", "rule.cell_changed",
               {"row": 1, "side": 'output', "column": 'Approver Group', "before": '`"accounting"`',
                "after": '`"management"`'}),
    ]


def test_a_new_dmn_rule_is_reported_with_its_row():
    def edit(root):
        table = find(root, f"{DMN}decision", "invoiceClassification").find(f"{DMN}decisionTable")
        rule = etree.SubElement(table, f"{DMN}rule", id="DecisionRule_new")
        for tag, value in (("inputEntry", "> 5000"), ("inputEntry", '"Travel Expenses"'),
                           ("outputEntry", '"exceptional"')):
            etree.SubElement(etree.SubElement(rule, f"{DMN}{tag}"), f"{DMN}text").text = value

    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{
        "invoiceBusinessDecisions.dmn": edited("camunda-invoiceBusinessDecisions.dmn", edit)}))
    assert changes == [Change("rule", "invoiceClassification", "added", "rule.added",
                              {"row": 6, "inputs": '`> 5000`, `"Travel Expenses"`', "outputs": '`"exceptional"`'})]


def test_changes_are_ordered_and_serialisable():
    def edit(root):
        find(root, f"{B}userTask", "approveInvoice").set("name", "Approve the invoice")
        find(root, f"{B}sequenceFlow", "reviewSuccessful").find(f"{B}conditionExpression").text = "${ok}"
        find(root, f"{B}exclusiveGateway", "invoice_approved").set("name", "Approved?")
        find(root, f"{B}process", "invoice").set("name", "Invoices")

    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{
        "invoice.bpmn": edited("camunda-invoice.v2.bpmn", edit)}))
    assert [(c.category, c.element_id) for c in changes] == sorted((c.category, c.element_id) for c in changes)
    assert {c.category for c in changes} == {"task", "flow", "gateway", "process"}
    assert all(c.category in CATEGORIES and c.change in ("added", "removed", "changed") for c in changes)
    assert changes[0].as_dict() == {
        "category": "flow", "element_id": "reviewSuccessful", "change": "changed", "code": "fact.changed",
        "params": {"fact": "condition", "before": "`${clarified}`", "after": "`${ok}`"}}
    assert all(c.code in CHANGE_CODES and c.params.get("fact", "name") in FACTS for c in changes)


def test_malformed_files_are_refused():
    with pytest.raises(InvalidBundle):
        diff_bundles(invoice_bundle(), invoice_bundle(**{"invoice.bpmn": b"<definitions"}))
    with pytest.raises(InvalidBundle):
        diff_bundles(invoice_bundle(), {"invoice.bpmn": corpus("camunda-invoiceBusinessDecisions.dmn")})


def test_the_differ_does_not_import_the_web_layer():
    sources = sorted((Path(__file__).resolve().parents[2] / "engine" / "diff").glob("*.py"))
    assert sources
    imported = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    assert not imported & {"flask", "werkzeug", "web"}
