"""An id too large for any database column is a request for something that does not exist: 404."""
from __future__ import annotations

import pytest

from .page_client import Person, assert_error_page

HUGE = "9" * 25


@pytest.mark.parametrize("url", [f"/requests/{HUGE}", f"/tasks/{HUGE}", f"/requests/{HUGE}/diagram.svg",
                                 f"/audit/requests/{HUGE}", f"/processes/temporary_support_mission/versions/{HUGE}"])
def test_pages_answer_404_for_ids_beyond_any_column(app, url):
    person = Person(app.test_client(), "elodie")
    assert_error_page(person.get(url), 404)


@pytest.mark.parametrize("path", [f"/api/v1/instances/{HUGE}", f"/api/v1/tasks/{HUGE}"])
def test_api_answers_404_for_ids_beyond_any_column(api, path):
    response = api("elodie").get(path)
    assert response.status_code == 404 and response.json()["code"] == 404
