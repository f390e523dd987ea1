"""What the engine says in codes about an upload — validation problems, diff changes — is worded
by the web in the reader's language: every code has its English and its French, a French page
shows none of the English and an English page none of the French; the API keeps English."""
from __future__ import annotations

import io

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from engine import (CHANGE_CODES, CHANGE_FACTS, CODE_KINDS, PROBLEM_CODES, PROCESSES_DIR, Change, Problem,
                    diff_bundles, validate_bundle)
from web.messages import WEB_PROBLEM_CODES, change_text, problem_text
from web.messages import uploads as deploy_texts

from tests.engine.test_diff import B, C, edited, find, invoice_bundle

from .page_client import Person, text_of
from .test_pages_i18n import TRANSLATIONS


def french_catalogue() -> dict[str, str]:
    with open(TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po", "rb") as po:
        return {m.id: m.string for m in read_po(po, locale="fr") if m.id and m.string and not m.fuzzy}


def msgid(text) -> str:
    with force_locale("en"):
        return str(text)


@pytest.mark.parametrize("codes, texts", [
    ({**PROBLEM_CODES, **WEB_PROBLEM_CODES}, deploy_texts.PROBLEM_TEXTS),
    (CHANGE_CODES, deploy_texts.CHANGE_TEXTS),
    (dict.fromkeys(CHANGE_FACTS), deploy_texts.FACT_TEXTS),
    (dict.fromkeys(CODE_KINDS), deploy_texts.CODE_KIND_TEXTS),
], ids=["problems", "changes", "facts", "code kinds"])
def test_every_code_has_english_and_french(app, codes, texts):
    french = french_catalogue()
    with app.test_request_context():
        assert sorted(set(codes) - set(texts)) == [], "add their English to web/messages/uploads.py"
        assert sorted(set(texts) - set(codes)) == [], "texts for codes the engine no longer writes"
        untranslated = sorted(msgid(texts[code]) for code in codes if msgid(texts[code]) not in french)
    assert untranslated == [], "add their French to web/translations/fr/LC_MESSAGES/messages.po"


def sample(code: str, names) -> dict:
    params = {name.strip("[]"): f"<{name.strip('[]')}>" for name in names}
    if code.startswith("fact."):
        params["fact"] = "name"
    return params


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_code_is_worded_with_all_its_parameters(app, language):
    """Each text takes the parameters its code declares, whichever language says it; an
    English sentence is never the French one."""
    said = {}
    for lang in ("en", "fr"):
        with app.test_request_context(headers={"Accept-Language": lang}):
            said[lang] = {code: problem_text(Problem("f.bpmn", 1, "x", code, sample(code, names)))
                          for code, names in {**PROBLEM_CODES, **WEB_PROBLEM_CODES}.items()}
            said[lang].update({code: change_text(Change("task", "x", "changed", code, sample(code, names)))
                               for code, names in CHANGE_CODES.items()})
    for code, text in said[language].items():
        names = {**PROBLEM_CODES, **WEB_PROBLEM_CODES, **CHANGE_CODES}[code]
        assert code not in text, text  # a text exists
        for name in (n.strip("[]") for n in names):
            if not (code.startswith("fact.") and name in ("fact", "name")):
                assert f"<{name}>" in text, (code, name, text)
    same = [code for code in said["en"] if said["en"][code] == said["fr"][code] and code != "code.timer"]
    assert same == []


# --- pages -------------------------------------------------------------------------------------------

EXCHANGE = (PROCESSES_DIR / "mission_exchange" / "mission_exchange.bpmn").read_bytes()


def changed_exchange() -> bytes:
    """mission_exchange with many kinds of change: a renamed step, a new field, a removed field,
    a changed condition, a new step in a lane."""
    new = EXCHANGE.replace(b'name="Publier un besoin"', b'name="Publier un besoin d\'appui"', 1)
    new = new.replace(b"decision == 'approve'", b"decision == 'approve' and True", 1)
    field = b'<camunda:formField id="place" label="Lieu" type="string" />'
    return new.replace(b"<camunda:formData>", b"<camunda:formData>" + field, 1)


def broken_exchange() -> bytes:
    """mission_exchange with problems of several kinds."""
    bad = EXCHANGE.replace(b"decision == 'approve'", b"__import__('os').system('x')", 1)
    return bad.replace(b'isExecutable="true"', b'isExecutable="false"', 1)


def upload(person: Person, files: dict[str, bytes]):
    data = {"comment": "", "files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return person.post("/processes/upload", data, content_type="multipart/form-data")


def words(app, language: str, problems=(), changes=()) -> list[str]:
    with app.test_request_context(headers={"Accept-Language": language}):
        return [problem_text(p) for p in problems] + [change_text(c) for c in changes]


def normal(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("language, other", [("fr", "en"), ("en", "fr")])
def test_a_page_shows_problems_and_changes_in_its_language_only(app, language, other):
    luc = Person(app.test_client(), "luc", language=language)
    problems = validate_bundle({"mission_exchange.bpmn": broken_exchange()})
    assert len({p.code for p in problems}) >= 2
    response = upload(luc, {"mission_exchange.bpmn": broken_exchange()})
    assert response.status_code == 422
    page = normal(text_of(response.get_data(as_text=True)))
    for mine, theirs in zip(words(app, language, problems), words(app, other, problems)):
        assert normal(mine) in page and normal(theirs) not in page

    old = {"mission_exchange.bpmn": EXCHANGE}
    changes = diff_bundles(old, {"mission_exchange.bpmn": changed_exchange()})
    assert {c.code for c in changes} >= {"fact.changed", "field.added"}
    review = upload(luc, {"mission_exchange.bpmn": changed_exchange()})
    assert review.status_code == 303
    page = normal(luc.text(review.location))
    for mine, theirs in zip(words(app, language, changes=changes), words(app, other, changes=changes)):
        assert normal(mine) in page and normal(theirs) not in page
    # engine codes never reach the page
    assert not any(c.code in page for c in changes) and "fact." not in page


def test_the_diff_is_worded_as_before_in_english(app):
    def edit(root):
        task = find(root, f"{B}userTask", "approveInvoice")
        task.set("name", "Approve the invoice")
        task.set(f"{C}candidateGroups", "accounting")
        find(root, f"{B}sequenceFlow", "reviewSuccessful").find(f"{B}conditionExpression").text = "${ok}"

    new = edited("camunda-invoice.v2.bpmn", edit)
    changes = diff_bundles(invoice_bundle(), invoice_bundle(**{"invoice.bpmn": new}))
    assert words(app, "en", changes=changes) == [
        "candidate groups changed from `${approverGroups}` to `accounting`",
        "condition changed from `${clarified}` to `${ok}`",
        "name changed from 'Approve Invoice' to 'Approve the invoice'",
    ]
    assert words(app, "fr", changes=changes) == [
        "groupes candidats : `${approverGroups}` devient `accounting`",
        "condition : `${clarified}` devient `${ok}`",
        "nom : 'Approve Invoice' devient 'Approve the invoice'",
    ]
