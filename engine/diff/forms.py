"""Comparing forms (camunda:formData): the form key, then fields added, removed, changed or reordered."""
from __future__ import annotations

from lxml import etree

from .model import _C, Change, _Fact, _Facts, _changed, _extensions, _fact_details, _facts

def _form_fields(el: etree._Element) -> dict[str, etree._Element]:
    ext = _extensions(el)
    form = ext.find(f"{_C}formData") if ext is not None else None
    return {field.get("id", ""): field for field in (form if form is not None else ())
            if field.tag == f"{_C}formField"}


def _field_facts(field: etree._Element) -> _Facts:
    facts = _facts([("type", field.get("type", ""), "code"),
                    ("label", field.get("label", ""), "name"),
                    ("default", field.get("defaultValue", ""), "code"),
                    ("date_pattern", field.get("datePattern", ""), "code")])
    validation = field.find(f"{_C}validation")
    for constraint in (validation if validation is not None else ()):
        if constraint.tag == f"{_C}constraint":
            # "required" has no config: its presence is the fact.
            config = constraint.get("config", "")
            facts[f"constraint:{constraint.get('name', '')}"] = _Fact(config or "on", config)
    for value in field.findall(f"{_C}value"):
        facts[f"value:{value.get('id', '')}"] = _Fact(value.get("name") or "on",
                                                        value.get("name", ""), "name")
    props = field.find(f"{_C}properties")
    for prop in (props if props is not None else ()):
        if prop.tag == f"{_C}property":
            name = prop.get("id") or prop.get("name") or ""
            facts[f"property:{name}"] = _Fact(prop.get("value", ""), prop.get("value", ""))
    return facts


def _form_changes(key: str, old: etree._Element, new: etree._Element) -> list[Change]:
    def form_key(el: etree._Element) -> _Facts:
        return _facts([("form_key", el.get(f"{_C}formKey", ""), "code")])

    changes = _changed("form", key, _fact_details(form_key(old), form_key(new)))
    old_fields, new_fields = _form_fields(old), _form_fields(new)
    for field_id in old_fields:
        if field_id not in new_fields:
            changes.append(Change("form", key, "removed", "field.removed", {"field": field_id}))
    for field_id, field in new_fields.items():
        if field_id not in old_fields:
            changes.append(Change("form", key, "added", "field.added", {"field": field_id}))
        else:
            changes += _changed("form", key, _fact_details(_field_facts(old_fields[field_id]), _field_facts(field)),
                                field=field_id)
    kept_old = [f for f in old_fields if f in new_fields]
    if kept_old != [f for f in new_fields if f in old_fields]:
        changes.append(Change("form", key, "changed", "field.order_changed"))
    return changes
