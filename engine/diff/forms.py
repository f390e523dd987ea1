"""Comparing forms (camunda:formData): the form key, then fields added, removed, changed or reordered."""
from __future__ import annotations

from lxml import etree

from .model import CAMUNDA_TAG, Change, Fact, Facts, changed, extensions_of, fact_details, make_facts

def _form_fields(el: etree._Element) -> dict[str, etree._Element]:
    ext = extensions_of(el)
    form = ext.find(f"{CAMUNDA_TAG}formData") if ext is not None else None
    return {field.get("id", ""): field for field in (form if form is not None else ())
            if field.tag == f"{CAMUNDA_TAG}formField"}


def _field_facts(field: etree._Element) -> Facts:
    facts = make_facts([("type", field.get("type", ""), "code"),
                        ("label", field.get("label", ""), "name"),
                        ("default", field.get("defaultValue", ""), "code"),
                        ("date_pattern", field.get("datePattern", ""), "code")])
    validation = field.find(f"{CAMUNDA_TAG}validation")
    for constraint in (validation if validation is not None else ()):
        if constraint.tag == f"{CAMUNDA_TAG}constraint":
            # "required" has no config: its presence is the fact.
            config = constraint.get("config", "")
            facts[f"constraint:{constraint.get('name', '')}"] = Fact(config or "on", config)
    for value in field.findall(f"{CAMUNDA_TAG}value"):
        facts[f"value:{value.get('id', '')}"] = Fact(value.get("name") or "on",
                                                     value.get("name", ""), "name")
    props = field.find(f"{CAMUNDA_TAG}properties")
    for prop in (props if props is not None else ()):
        if prop.tag == f"{CAMUNDA_TAG}property":
            name = prop.get("id") or prop.get("name") or ""
            facts[f"property:{name}"] = Fact(prop.get("value", ""), prop.get("value", ""))
    return facts


def form_changes(key: str, old: etree._Element, new: etree._Element) -> list[Change]:
    def form_key(el: etree._Element) -> Facts:
        return make_facts([("form_key", el.get(f"{CAMUNDA_TAG}formKey", ""), "code")])

    changes = changed("form", key, fact_details(form_key(old), form_key(new)))
    old_fields, new_fields = _form_fields(old), _form_fields(new)
    for field_id in old_fields:
        if field_id not in new_fields:
            changes.append(Change("form", key, "removed", "field.removed", {"field": field_id}))
    for field_id, field in new_fields.items():
        if field_id not in old_fields:
            changes.append(Change("form", key, "added", "field.added", {"field": field_id}))
        else:
            changes += changed("form", key, fact_details(_field_facts(old_fields[field_id]), _field_facts(field)),
                               field=field_id)
    kept_old = [f for f in old_fields if f in new_fields]
    if kept_old != [f for f in new_fields if f in old_fields]:
        changes.append(Change("form", key, "changed", "field.order_changed"))
    return changes
