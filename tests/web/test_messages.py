"""Every code the engine can say has words: for people in French and in English (web/messages.py
through Flask-Babel), and the API's English. A code without them fails here, not on a page."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_babel import force_locale

from engine import MESSAGE_CODES, Message
from web import create_app
from web.messages import API, PAGE, api_text, say

from .conftest import SETTINGS

SAMPLES = {"error": "ZeroDivisionError: division by zero", "step": "Diviser", "bpmn_id": "divide", "line": 2,
           "source": "share = time_share / 0", "options": ["a", "b"], "reason": Message("value.nul_character"),
           "seq": 3, "min": 3, "max": 30, "limit_kb": 256, "size_kb": 300}


def sample(code: str) -> Message:
    return Message(code, **{name: SAMPLES.get(name, f"x{i}") for i, name in enumerate(MESSAGE_CODES[code])})


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app({**SETTINGS, "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('m') / 'none.sqlite'}"})


def test_the_catalogue_has_exactly_the_engines_codes():
    assert len(MESSAGE_CODES) > 40
    assert set(PAGE) == set(MESSAGE_CODES), "add the words of these codes to web/messages.py PAGE"
    assert set(API) == set(MESSAGE_CODES), "add the API's words of these codes to web/messages.py API"


@pytest.mark.parametrize("code", sorted(MESSAGE_CODES))
def test_every_code_reads_in_french_and_in_english(app, code):
    message = sample(code)
    with app.test_request_context():
        with force_locale("en"):
            english = say(message)
        with force_locale("fr"):
            french = say(message)
    assert english.strip() and french.strip()
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
