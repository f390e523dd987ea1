"""French by default, English when the person chooses it or when their browser prefers it; the
French catalogue covers every message and its compiled .mo is the one in the repository."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from .page_client import Person, text_of

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "web" / "translations"


def language_of(response) -> str:
    page = response.get_data(as_text=True)
    return page.split('<html lang="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("accept, expected, sign_in", [
    (None, "fr", "Se connecter"),
    ("fr-FR,fr;q=0.9", "fr", "Se connecter"),
    ("en-GB,en;q=0.9", "en", "Sign in"),
    ("de-DE,de;q=0.9", "fr", "Se connecter"),
    ("de-DE,en;q=0.5", "en", "Sign in"),
])
def test_the_browser_language_is_the_default(client, accept, expected, sign_in):
    response = client.get("/login", headers={"Accept-Language": accept} if accept else {})
    assert language_of(response) == expected
    assert sign_in in text_of(response.get_data(as_text=True))


def test_the_persons_choice_wins_and_lasts(client):
    person = Person(client, "nadia", language="fr-FR")
    assert "Mes demandes" in person.text("/requests")
    response = person.post("/language", {"lang": "en", "next": "/requests"})
    assert (response.status_code, response.location) == (303, "/requests")
    text = person.text("/requests")
    assert "My requests" in text and "Mes demandes" not in text
    assert "Français" in text  # the control offers the other language, named in itself
    person.post("/language", {"lang": "fr", "next": "/"})
    assert "Mes tâches" in person.text("/")


def test_an_unknown_language_changes_nothing(client):
    person = Person(client, "nadia")
    response = person.post("/language", {"lang": "xx", "next": "/requests"})
    assert response.location == "/"
    assert "Mes tâches" in person.text("/")


def test_language_switch_needs_a_token_and_a_local_target(client):
    person = Person(client, "nadia")
    assert person.post("/language", {"lang": "en"}, csrf=False).status_code == 400
    response = person.post("/language", {"lang": "en", "next": "https://elsewhere.example/"})
    assert response.location == "/"


def test_dates_follow_the_language(client):
    from .page_client import start_support_mission
    person = Person(client, "nadia")
    instance_id, _ = start_support_mission(person)
    assert "6 janvier 2031" in person.text(f"/requests/{instance_id}")
    person.post("/language", {"lang": "en"})
    assert "January 6, 2031" in person.text(f"/requests/{instance_id}")


def _extracted_messages() -> set:
    with open(TRANSLATIONS / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        found.add(message)
    return found


def test_every_message_has_a_french_translation():
    with open(TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale="fr")
    translated = {m.id for m in catalog if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple)
                                                                         else [m.string])}
    missing = sorted(str(m) for m in _extracted_messages() - translated)
    assert not missing, f"add French for: {missing}"


def translations_of(catalogue) -> dict:
    """What a catalogue translates, message by message (the header and untranslated or fuzzy
    entries left out): what a reader sees, whichever Babel wrote the file."""
    def key(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value
    return {(key(m.id), m.context): key(m.string) for m in catalogue
            if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, (list, tuple)) else m.string)}


def test_the_committed_mo_is_compiled_from_the_po():
    with open(TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po", "rb") as source:
        po = read_po(source, locale="fr")
    with open(TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo", "rb") as compiled:
        mo = read_mo(compiled)
    expected, committed = translations_of(po), translations_of(mo)
    assert len(expected) > 100
    assert committed == expected, "run: pybabel compile -d web/translations"


@pytest.mark.parametrize("language, said, not_said", [
    ("fr", "Il n’y a pas de demande n° 987654, ou vous ne pouvez pas la voir.", ["no request", "There is no"]),
    ("en", "There is no request no. 987654, or it is not one you can see.", ["no request 987654", "Il n’y a"]),
])
def test_what_the_engine_refuses_is_said_in_the_readers_language(client, language, said, not_said):
    """An engine error's page words its code (NotFound: error.no_request), never the engine's log text."""
    text = Person(client, "nadia", language=language).text("/requests/987654", status=404)
    assert said in text
    assert not any(words in text for words in not_said)
