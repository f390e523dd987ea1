"""Every code the engine can say has words: for people in French and in English (web/messages/,
one catalogue, through Flask-Babel), and the API's English. A code without them fails here, not on
a page. The families: MESSAGE_CODES (requests, and the engine's errors), PROBLEM_CODES, CHANGE_CODES."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_babel import force_locale

from engine import CHANGE_CODES, MESSAGE_CODES, PROBLEM_CODES, Change, Message, Problem
from web import create_app
from web.cli import main
from web.messages import API, PAGE, WEB_PROBLEM_CODES, api_text, say

from .conftest import SETTINGS

SAMPLES = {"error": "ZeroDivisionError: division by zero", "step": "Diviser", "bpmn_id": "divide", "line": 2,
           "source": "share = time_share / 0", "options": ["a", "b"], "reason": Message("value.nul_character"),
           "seq": 3, "min": 3, "max": 30, "limit_kb": 256, "size_kb": 300, "missing": ["name"],
           "roles": ["pope"], "version": 2, "count": 2}
#: codes whose words are only the untranslated `detail` they carry (the sandbox's own technical words)
ONLY_THEIR_DETAIL = {"sandbox.refused"}
#: every code of every family -> the parameters it takes
EVERY_CODE = {**MESSAGE_CODES, **PROBLEM_CODES, **WEB_PROBLEM_CODES, **CHANGE_CODES}


def sample(code: str) -> Message:
    return Message(code, **{name: SAMPLES.get(name, f"x{i}") for i, name in enumerate(MESSAGE_CODES[code])})


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({**SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('m') / 'none.sqlite'}"})


def said_by_the_engine(code: str) -> Message | Problem | Change:
    """A sample of what the engine says with `code`, of the family the code belongs to."""
    if code in MESSAGE_CODES:
        return sample(code)
    params = {name.strip("[]"): f"<{name.strip('[]')}>" for name in EVERY_CODE[code]}
    if code in CHANGE_CODES:
        return Change("task", "x", "changed", code, {**params, "fact": "name"} if code.startswith("fact.") else params)
    return Problem("f.bpmn", 1, "x", code, params)


def test_the_catalogue_has_exactly_the_engines_codes():
    assert len(MESSAGE_CODES) > 90 and len(PROBLEM_CODES) > 30 and len(CHANGE_CODES) > 15
    assert not set(MESSAGE_CODES) & set(PROBLEM_CODES) | set(MESSAGE_CODES) & set(CHANGE_CODES) | \
        set(PROBLEM_CODES) & set(CHANGE_CODES), "a code names one thing in one family"
    assert set(PAGE) == set(EVERY_CODE), "add the words of these codes to their family in web/messages/"
    assert set(API) == set(MESSAGE_CODES), "add the API's words of these codes to their family in web/messages/"


@pytest.mark.parametrize("code", sorted(EVERY_CODE))
def test_every_code_reads_in_french_and_in_english(app, code):
    said = said_by_the_engine(code)
    with app.test_request_context():
        with force_locale("en"):
            english = say(said)
            assert PAGE[code](dict(said.params)) == english  # one registry, one entry point
        with force_locale("fr"):
            french = say(said)
    assert english.strip() and french.strip()
    assert code not in english, f"{code} has no words: add them to its family in web/messages/"
    if code not in ONLY_THEIR_DETAIL and code != "code.timer":  # code.timer: the timer's reason, as it is
        assert french != english, f"{code} has no French: add it to messages.po"
    assert "%(" not in english + french


@pytest.mark.parametrize("code", sorted(MESSAGE_CODES))
def test_every_code_has_the_apis_english(code):
    text = api_text(sample(code))
    assert text.strip() and "{" not in text


def test_the_api_keeps_the_words_it_always_answered():
    failure = Message("failure.step_failed", error="ZeroDivisionError: division by zero", step="Diviser",
                      bpmn_id="divide", line=2, source="a = b / 0")
    assert api_text(failure) == ("the process could not go on: ZeroDivisionError: division by zero"
                                 " — step «Diviser» (divide), line 2: a = b / 0")
    assert api_text(Message("failure.forbidden_code", error="number too large")) == \
        "forbidden code in the diagram: number too large"
    assert api_text(Message("form.not_an_option", options=["slow", "fast"])) == "must be one of: slow, fast"
    assert api_text(Message("audit.event_missing", seq=4)) == "event 4 is missing"


def test_messages_round_trip_through_json():
    failure = Message("failure.step_failed", error=Message("value.not_storable", field="bad",
                                                          reason=Message("value.not_json", type="set")),
                      step="Store", bpmn_id="store")
    assert Message.loads(failure.dumps()) == failure
    assert Message.loads("the process could not go on: KeyError", legacy="failure.legacy") == \
        Message("failure.legacy", text="the process could not go on: KeyError")
    with pytest.raises(ValueError):
        Message("form.no_such_code")
    with pytest.raises(ValueError):
        Message("form.min", minimum=3)


def test_no_page_parses_engine_text_back():
    source = (Path(__file__).resolve().parents[2] / "web" / "pages" / "formview.py").read_text()
    assert not any(pattern in source for pattern in ("re.compile", "re.match", "re.search", "re.fullmatch"))


def test_the_org_load_command_says_what_is_wrong_in_words(app, tmp_path):
    (tmp_path / "broken.yaml").write_text("users: [\n", encoding="utf-8")
    (tmp_path / "list.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    runner = app.test_cli_runner()
    broken = runner.invoke(main, ["org", "load", str(tmp_path / "broken.yaml")])
    assert broken.exit_code == 1 and f"{tmp_path / 'broken.yaml'} is not a valid YAML file: " in broken.output
    listed = runner.invoke(main, ["org", "load", str(tmp_path / "list.yaml")])
    assert listed.exit_code == 1
    assert "The organisation file must hold the keys directorates, organisations and users." in listed.output
