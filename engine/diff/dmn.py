"""Comparing DMN decisions: hit policy, columns, then rules row by row."""
from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from .model import (BundleElements, Change, Facts, changed, display_name, fact_details, keyed_diff, make_facts,
                    name_of, shorten, text_of)

class _Table(NamedTuple):
    inputs: list[tuple[str, str, Facts]]   # (column id, display name, facts)
    outputs: list[tuple[str, str, Facts]]
    rules: list[tuple[str, list[str], list[str], str]]  # (key, input cells, output cells, note)


def _child(el: etree._Element, tag: str) -> etree._Element | None:
    return el.find(f"{{{etree.QName(el).namespace}}}{tag}")


def _children(el: etree._Element, tag: str) -> list[etree._Element]:
    return el.findall(f"{{{etree.QName(el).namespace}}}{tag}")


def _cell(el: etree._Element | None) -> str:
    return text_of(_child(el, "text")) if el is not None else ""


def _read_table(table: etree._Element) -> _Table:
    inputs = []
    for i, clause in enumerate(_children(table, "input")):
        expression = _child(clause, "inputExpression")
        text = _cell(expression)
        type_ref = expression.get("typeRef", "") if expression is not None else ""
        inputs.append((clause.get("id") or f"input {i + 1}",
                       clause.get("label") or text or f"input {i + 1}",
                       make_facts([("label", clause.get("label", ""), "name"), ("expression", text, "code"),
                                   ("type", type_ref, "code"),
                                   ("allowed_values", _cell(_child(clause, "inputValues")), "code")])))
    outputs = []
    for i, clause in enumerate(_children(table, "output")):
        outputs.append((clause.get("id") or f"output {i + 1}",
                        clause.get("label") or clause.get("name") or f"output {i + 1}",
                        make_facts([("label", clause.get("label", ""), "name"),
                                    ("name", clause.get("name", ""), "code"),
                                    ("type", clause.get("typeRef", ""), "code"),
                                    ("allowed_values", _cell(_child(clause, "outputValues")), "code")])))
    rules = _children(table, "rule")
    by_id = all(rule.get("id") for rule in rules)
    return _Table(inputs, outputs, [
        (rule.get("id") if by_id else f"#{i}", [_cell(e) for e in _children(rule, "inputEntry")],
         [_cell(e) for e in _children(rule, "outputEntry")], text_of(_child(rule, "description")))
        for i, rule in enumerate(rules)])


def diff_decisions(before: BundleElements, after: BundleElements) -> list[Change]:
    def describe(el: etree._Element, _: str) -> tuple[str, dict]:
        return "element", {"kind": "decision", "element": display_name(el)}

    def compare(key: str, old: etree._Element, new: etree._Element) -> list[Change]:
        details = fact_details(_decision_facts(old), _decision_facts(new))
        changes = changed("rule", key, details)
        old_table, new_table = _child(old, "decisionTable"), _child(new, "decisionTable")
        if old_table is not None and new_table is not None:
            changes += _table_changes(key, _read_table(old_table), _read_table(new_table))
        return changes

    return keyed_diff("rule", before.decisions, after.decisions, describe, compare)


def _decision_facts(decision: etree._Element) -> Facts:
    table = _child(decision, "decisionTable")
    literal = _child(decision, "literalExpression")
    return make_facts([("name", name_of(decision), "name"),
                       ("hit_policy", table.get("hitPolicy", "UNIQUE") if table is not None else "", "code"),
                       ("aggregation", table.get("aggregation", "") if table is not None else "", "code"),
                       ("expression", _cell(literal), "code")])


def _table_changes(key: str, old: _Table, new: _Table) -> list[Change]:
    changes = []
    for side, old_cols, new_cols in (("input", old.inputs, new.inputs),
                                     ("output", old.outputs, new.outputs)):
        old_by_id = {col_id: (name, facts) for col_id, name, facts in old_cols}
        new_ids = {col_id for col_id, _, _ in new_cols}
        changes += [Change("rule", key, "removed", "column.removed", {"side": side, "column": name})
                    for col_id, name, _ in old_cols if col_id not in new_ids]
        for col_id, name, facts in new_cols:
            if col_id not in old_by_id:
                changes.append(Change("rule", key, "added", "column.added", {"side": side, "column": name}))
            else:
                changes += changed("rule", key, fact_details(old_by_id[col_id][1], facts), side=side, column=name)
    return changes + _rule_changes(key, old, new)


def _rule_changes(key: str, old: _Table, new: _Table) -> list[Change]:
    old_rows = {rule[0]: (row, rule) for row, rule in enumerate(old.rules, 1)}
    new_keys = {rule[0] for rule in new.rules}
    changes = [Change("rule", key, "removed", "rule.removed", {"row": row, **_row_cells(rule)})
               for rule_key, (row, rule) in old_rows.items() if rule_key not in new_keys]
    for row, rule in enumerate(new.rules, 1):
        if rule[0] not in old_rows:
            changes.append(Change("rule", key, "added", "rule.added", {"row": row, **_row_cells(rule)}))
            continue
        old_row, old_rule = old_rows[rule[0]]
        rows = {"row": row, **({"was_row": old_row} if old_row != row else {})}
        for side, index in (("input", 1), ("output", 2)):
            old_cells = _cells_by_column(old.inputs if index == 1 else old.outputs, old_rule[index])
            new_cells = _cells_by_column(new.inputs if index == 1 else new.outputs, rule[index])
            for col_id, (col_name, cell) in new_cells.items():
                if col_id in old_cells and old_cells[col_id][1] != cell:
                    before, after = shorten(old_cells[col_id][1]) or "-", shorten(cell) or "-"
                    changes.append(Change("rule", key, "changed", "rule.cell_changed",
                                          {**rows, "side": side, "column": col_name, "before": f"`{before}`",
                                           "after": f"`{after}`"}))
        if old_rule[3] != rule[3]:
            changes.append(Change("rule", key, "changed", "rule.annotation_changed", rows))
    kept_old = [r[0] for r in old.rules if r[0] in new_keys]
    if kept_old != [r[0] for r in new.rules if r[0] in old_rows]:
        changes.append(Change("rule", key, "changed", "rule.order_changed"))
    return changes


def _cells_by_column(columns: list[tuple[str, str, Facts]],
                     cells: list[str]) -> dict[str, tuple[str, str]]:
    """column id -> (column name, cell text); DMN matches cells to columns by position."""
    return {col_id: (name, cells[i] if i < len(cells) else "")
            for i, (col_id, name, _) in enumerate(columns)}


def _row_cells(rule: tuple[str, list[str], list[str], str]) -> dict[str, str]:
    return {"inputs": ", ".join(f"`{shorten(c, 40) or '-'}`" for c in rule[1]),
            "outputs": ", ".join(f"`{shorten(c, 40) or '-'}`" for c in rule[2])}
