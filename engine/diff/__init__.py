"""What changes between two versions of a process bundle, for the owner to read before deploying.

A bundle is one .bpmn file and its .dmn tables. Elements are matched by id, and only what
changes how the process runs is compared: node types and names, flows and their conditions,
forms, assignment, lanes, timers, scripts, extension settings, and the DMN tables row by row.
BPMN-DI (where things are drawn) is never read, so moving shapes around changes nothing.
"""
from __future__ import annotations

from collections.abc import Mapping

from .bpmn import diff_flows, diff_lanes, diff_nodes, diff_processes
from .dmn import diff_decisions
from .model import CATEGORIES, CHANGE_CODES, FACTS, BundleElements, Change

__all__ = ["Change", "diff_bundles", "CATEGORIES", "CHANGE_CODES", "FACTS"]


def diff_bundles(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[Change]:
    """List what changes from bundle `old` to bundle `new`.

    :param old: filename -> content of the deployed bundle (.bpmn and .dmn files; other files
        such as a README are ignored).
    :param new: the same for the bundle about to be deployed.
    :returns: changes ordered by (category, element_id), then in document order.
    :raises InvalidBundle: a .bpmn/.dmn file is not well-formed XML or not BPMN/DMN.
    """
    before, after = BundleElements(old), BundleElements(new)
    changes = [*diff_processes(before, after), *diff_nodes(before, after),
               *diff_flows(before, after), *diff_lanes(before, after),
               *diff_decisions(before, after)]
    return sorted(changes, key=lambda change: (change.category, change.element_id))
