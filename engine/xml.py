"""Parsing untrusted XML: no DTDs, no entities, no network, bounded size.

Every BPMN or DMN file that reaches the engine, the renderer or the differ goes through
`parse_xml`, so that a hostile upload (XXE, billion laughs, a huge file) is refused in one place.
"""
from __future__ import annotations

from lxml import etree

from .errors import InvalidBundle, Problem

MAX_FILE_BYTES = 2 * 1024 * 1024

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "https://www.omg.org/spec/DMN/20180521/MODEL/",
)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_xml(content: bytes, filename: str = "<upload>") -> etree._Element:
    """Parse `content` and return its root element.

    Raises InvalidBundle with one located Problem if the file is too large, declares a DTD or
    entities, or is not well-formed XML.
    """
    if len(content) > MAX_FILE_BYTES:
        raise InvalidBundle([Problem(filename, None, None, "xml.too_large", {"limit": MAX_FILE_BYTES // 1024})])
    no_dtd = InvalidBundle([Problem(filename, None, None, "xml.dtd")])
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise no_dtd
    try:
        root = etree.fromstring(content, parser=_parser())
    except etree.XMLSyntaxError as err:
        line = err.lineno if err.lineno else None
        raise InvalidBundle([Problem(filename, line, None, "xml.not_well_formed", {"detail": err.msg})]) from None
    if root is None:
        raise InvalidBundle([Problem(filename, None, None, "file.empty")])
    if root.getroottree().docinfo.doctype:  # the byte test misses a DTD in UTF-16 or UTF-32
        raise no_dtd
    return root


def is_bpmn(root: etree._Element) -> bool:
    return etree.QName(root).namespace == BPMN_NS and etree.QName(root).localname == "definitions"


def is_dmn(root: etree._Element) -> bool:
    return etree.QName(root).namespace in DMN_NAMESPACES and etree.QName(root).localname == "definitions"
