"""A person using the pages through the Flask test client: signs in with the real form, sends
forms with their CSRF token, and reads what the page says (text, not markup)."""
from __future__ import annotations

import html
import re

from engine import find_user, queries

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def text_of(page: str) -> str:
    """The visible text of a page, whitespace collapsed, entities decoded."""
    body = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", page)
    body = re.sub(r"<[^>]+>", " ", body)
    return " ".join(html.unescape(body).replace("\u00a0", " ").split())


def assert_error_page(response, status: int) -> str:
    """An HTML error page with that status, and no trace of Python."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Traceback" not in page and 'File "' not in page
    assert "<main" in page
    return text_of(page)


class Person:
    def __init__(self, client, username: str | None = None, language: str = "fr"):
        self.client = client
        self.username = username
        self.headers = {"Accept-Language": language}
        self.token = None
        if username:
            self.sign_in(username)

    def get(self, url: str, **kw):
        return self.client.get(url, headers=self.headers, **kw)

    def page(self, url: str, status: int = 200) -> str:
        response = self.get(url)
        assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:800])
        return response.get_data(as_text=True)

    def text(self, url: str, status: int = 200) -> str:
        return text_of(self.page(url, status))

    def fresh_token(self) -> str:
        response = self.get("/")
        page = (response if response.status_code == 200 else self.get("/login")).get_data(as_text=True)
        match = TOKEN.search(page)
        assert match, "no CSRF token on the page"
        self.token = match.group(1)
        return self.token

    def post(self, url: str, data=None, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token or self.fresh_token())
        return self.client.post(url, data=data, headers=self.headers, **kw)

    def sign_in(self, username: str, password: str = "demo"):
        page = self.get("/login").get_data(as_text=True)
        token = TOKEN.search(page).group(1)
        response = self.client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                                    headers=self.headers)
        assert response.status_code == 303, text_of(response.get_data(as_text=True))[:300]
        self.username = username
        self.token = None
        return response

    def sign_out(self):
        response = self.post("/logout")
        self.username, self.token = None, None
        return response


def sessions(app):
    return app.extensions["passerelle.sessions"]


def open_task(app, username: str, bpmn_id: str, instance_id: int | None = None) -> int:
    """The id of the ready task `bpmn_id` that `username` may act on (read from the database)."""
    with sessions(app)() as s:
        user = find_user(s, username)
        for task in queries.tasks(s, user, "actionable", instance_id=instance_id, page_size=200).items:
            if task.bpmn_id == bpmn_id:
                return task.id
    raise AssertionError(f"{username} has no task {bpmn_id}")


MISSION = {
    "title": "Refonte du site des solidarités", "project": "Site web des solidarités",
    "objectives": "Aider l'équipe à réécrire les pages d'aide aux familles.", "expertise_level": "intermediate",
    "time_share": "20", "start_date": "2031-01-06", "end_date": "2031-06-30", "agent": "thomas",
    "is_project_support": "true",
}


def start_support_mission(person: Person, data: dict | None = None) -> tuple[int, int]:
    """Start a temporary support mission as `person` and describe it: (instance id, task id)."""
    response = person.post("/requests/new/temporary_support_mission")
    assert response.status_code == 303
    task_id = int(response.location.rsplit("/", 1)[1])
    response = person.post(f"/tasks/{task_id}", {**MISSION, **(data or {})})
    assert response.status_code == 303, text_of(response.get_data(as_text=True))[:800]
    instance_id = int(response.location.rsplit("/", 1)[1])
    return instance_id, task_id
