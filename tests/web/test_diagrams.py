"""web.diagrams draws every diagram of the shared BPMN corpus, marks instance state on exactly
the ids it is given, and never lets a name from a diagram turn into markup."""
from __future__ import annotations

import math
import re
import time
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import InvalidBundle
from engine.xml import BPMN_NS, BPMNDI_NS, DC_NS, parse_xml
from web.diagrams import NO_LAYOUT_TEXT, WAITING_TEXT, has_layout, render_svg

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "bpmn-corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.bpmn"))
SVG = "{http://www.w3.org/2000/svg}"
INVOICE = "camunda-invoice.v2.bpmn"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def parse_svg(svg: str) -> etree._Element:
    root = etree.fromstring(svg.encode())
    assert root.tag == f"{SVG}svg"
    return root


def by_element_id(svg_root: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for el in svg_root.iter():
        if el.get("data-element-id"):
            found.setdefault(el.get("data-element-id"), []).append(el)
    return found


def with_state(svg_root: etree._Element, state: str) -> set[str]:
    return {el.get("data-element-id") for el in svg_root.iter()
            if state in (el.get("class") or "").split()}


def texts(svg_root: etree._Element) -> list[str]:
    """Each <text> as one string, its wrapped lines joined by spaces."""
    return [" ".join(" ".join(span.itertext()) for span in text.iter(f"{SVG}tspan"))
            for text in svg_root.iter(f"{SVG}text")]


def test_the_corpus_is_there():
    assert len(CORPUS_FILES) >= 50, f"expected the shared BPMN corpus in {CORPUS}"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_plane_of_every_corpus_file_is_drawn(path):
    data = path.read_bytes()
    assert has_layout(data)
    model = parse_xml(data, path.name)
    planes = [p for p in model.iter(f"{{{BPMNDI_NS}}}BPMNPlane")
              if p.find(f"{{{BPMNDI_NS}}}BPMNShape") is not None]
    assert planes
    for plane in planes:
        svg = render_svg(data, process_id=plane.get("bpmnElement"))
        root = parse_svg(svg)
        assert root.get("role") == "img" and root.get("aria-label")
        assert root.find(f"{SVG}title") is not None
        assert not list(root.iter(f"{SVG}script"))
        assert not re.search(r"\son\w+=|href=", svg), "no scripts, handlers or external links"

        x, y, width, height = (float(v) for v in root.get("viewBox").split())
        assert all(math.isfinite(v) for v in (x, y, width, height)) and width > 0 and height > 0
        drawn = by_element_id(root)
        di_ids = {el.get("data-di-id"): el for el in root.iter() if el.get("data-di-id")}
        for shape in plane.iter(f"{{{BPMNDI_NS}}}BPMNShape"):
            bounds = shape.find(f"{{{DC_NS}}}Bounds")
            bx, by = float(bounds.get("x")), float(bounds.get("y"))
            bw, bh = float(bounds.get("width")), float(bounds.get("height"))
            assert x <= bx and y <= by and bx + bw <= x + width and by + bh <= y + height, \
                f"{shape.get('id')} lies outside the viewBox"
            assert len(drawn.get(shape.get("bpmnElement"), [])) == 1, shape.get("bpmnElement")
        for edge in plane.iter(f"{{{BPMNDI_NS}}}BPMNEdge"):
            group = di_ids[edge.get("id")]
            if edge.get("bpmnElement"):
                assert group.get("data-element-id") == edge.get("bpmnElement")
            lines = [p for p in group.iter(f"{SVG}path") if (p.get("d") or "").startswith("M")]
            assert lines, f"edge {edge.get('id')} has no path"


def test_output_is_deterministic_and_fast():
    largest = max(CORPUS_FILES, key=lambda p: p.stat().st_size)
    data = largest.read_bytes()
    first = render_svg(data)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        assert render_svg(data) == first
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.1, f"{largest.name} took {min(timings):.3f}s"


def test_a_file_without_layout_gives_a_small_svg_saying_so():
    model = parse_xml(corpus(INVOICE))
    for diagram in model.findall(f"{{{BPMNDI_NS}}}BPMNDiagram"):
        model.remove(diagram)
    data = etree.tostring(model)
    assert not has_layout(data)
    svg = render_svg(data)
    root = parse_svg(svg)
    assert root.get("role") == "img"
    assert str(NO_LAYOUT_TEXT) in svg and str(NO_LAYOUT_TEXT) in root.get("aria-label")
    assert float(root.get("width")) <= 600


@pytest.mark.parametrize("content", [b"<definitions", b"not xml at all",
                                     b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>'])
def test_invalid_or_non_bpmn_content_is_refused(content):
    with pytest.raises(InvalidBundle):
        render_svg(content)
    with pytest.raises(InvalidBundle):
        has_layout(content)


def test_highlighting_marks_exactly_the_given_ids():
    completed = {"StartEvent_1", "assignApprover", "approveInvoice", "invoice_approved"}
    flows = {"SequenceFlow_1", "sequenceFlow_178", "sequenceFlow_180", "invoiceNotApproved"}
    root = parse_svg(render_svg(corpus(INVOICE), completed=completed, waiting={"reviewInvoice"},
                                taken_flows=flows))
    assert with_state(root, "done") == completed | flows
    assert with_state(root, "waiting") == {"reviewInvoice"}
    waiting = by_element_id(root)["reviewInvoice"][0]
    assert str(WAITING_TEXT) in waiting.findtext(f"{SVG}title"), "waiting is said in words, not only colour"
    assert "Review Invoice" in root.findtext(f"{SVG}desc")


def test_flows_between_reached_nodes_are_marked_when_none_are_given():
    root = parse_svg(render_svg(corpus(INVOICE), completed=["StartEvent_1", "assignApprover"],
                                waiting=["approveInvoice"]))
    assert with_state(root, "done") == {"StartEvent_1", "assignApprover", "SequenceFlow_1",
                                        "sequenceFlow_178"}
    assert with_state(root, "waiting") == {"approveInvoice"}


def test_a_node_both_completed_and_waiting_is_waiting():
    root = parse_svg(render_svg(corpus(INVOICE), completed=["approveInvoice"],
                                waiting=["approveInvoice"]))
    assert with_state(root, "waiting") == {"approveInvoice"}
    assert "approveInvoice" not in with_state(root, "done")


def test_names_and_titles_are_escaped():
    hostile = "<script>alert(1)</script>"
    model = parse_xml(corpus(INVOICE))
    task = model.find(f".//{{{BPMN_NS}}}userTask[@id='approveInvoice']")
    task.set("name", hostile)
    lane = model.find(f".//{{{BPMN_NS}}}lane[@id='Approver']")
    lane.set("name", 'Approver" onload="alert(1)')
    svg = render_svg(etree.tostring(model), title='"><script>alert(2)</script>')
    root = parse_svg(svg)
    assert not list(root.iter(f"{SVG}script"))
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert by_element_id(root)["approveInvoice"][0].findtext(f"{SVG}title") == hostile
    assert root.get("aria-label") == '"><script>alert(2)</script>'
    assert not any(name.startswith("on") for el in root.iter() for name in el.attrib)


@pytest.mark.parametrize("name", [INVOICE, "bpmnio-pizza-collaboration.bpmn", "miwg-A.4.1.bpmn",
                                  "spiff-lanes.bpmn"])
def test_pool_and_lane_names_are_written(name):
    data = corpus(name)
    model = parse_xml(data)
    written = " | ".join(texts(parse_svg(render_svg(data))))
    names = [" ".join(el.get("name").split())
             for tag in ("participant", "lane") for el in model.iter(f"{{{BPMN_NS}}}{tag}")
             if el.get("name")]
    assert names
    for expected in names:
        assert expected in written, f"{expected!r} is not written in {name}"


def test_a_plane_is_chosen_by_process_or_sub_process():
    data = corpus("bpmnio-nested-subprocesses.bpmn")
    root_plane = by_element_id(parse_svg(render_svg(data)))
    sub_plane = by_element_id(parse_svg(render_svg(data, process_id="collapsedProcess")))
    assert "collapsedProcess" in root_plane and "collapsedProcess" not in sub_plane
    assert set(sub_plane) - set(root_plane), "the sub-process plane shows its own content"
    # A process inside a collaboration is found through its participant.
    assert "Process_Engine_1" in by_element_id(parse_svg(render_svg(corpus(INVOICE),
                                                                    process_id="invoice")))


def test_sequence_flows_end_in_an_arrowhead_at_the_target():
    root = parse_svg(render_svg(corpus(INVOICE)))
    flow = by_element_id(root)["SequenceFlow_1"][0]
    line, head = flow.findall(f"{SVG}path")[:2]
    last = re.findall(r"-?[\d.]+", line.get("d"))[-2:]
    assert "head" in head.get("class")
    assert " ".join(last) in head.get("d"), "the arrowhead's tip is the last waypoint"
