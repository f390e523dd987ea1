"""Browser tests: Debian's Chromium driven by Playwright against the app served over real HTTP
(SQLite only). Each person gets their own browser context, so several people can take turns on
the same request. Screenshots of each main page go to test-artifacts/screenshots/<test>/, and
the folder is printed at the end of the run."""
from __future__ import annotations

import re
import shutil
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from engine import clock, frozen_at, run_due_timers, unit_of_work
from engine.models import Instance
from tests.web.conftest import LiveServer, app, seeded  # noqa: F401  (the app fixture and its seeded databases, reused)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
_shots_taken: list[Path] = []


@pytest.fixture
def database_url(tmp_path):
    """Browser tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'browser.sqlite'}"


@pytest.fixture
def live_server(app):  # noqa: F811
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (./scripts/test does it)")
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Cast:
    """The people of a test, each in their own signed-in browser context."""

    def __init__(self, browser, base_url: str, app, test_name: str):
        self.browser, self.base, self.app = browser, base_url, app
        self.folder = SCREENSHOTS / test_name
        self.pages: dict[str, Page] = {}
        self.contexts = []
        self.count = 0

    def anonymous(self, language: str = "fr-FR") -> Page:
        """A browser nobody has signed in with yet."""
        context = self.browser.new_context(base_url=self.base, locale=language,
                                           viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context.new_page()

    def __call__(self, username: str, language: str = "fr-FR") -> Page:
        if username not in self.pages:
            page = self.anonymous(language)
            page.goto("/login")
            page.get_by_label("Identifiant" if language.startswith("fr") else "Username").fill(username)
            page.get_by_label("Mot de passe" if language.startswith("fr") else "Password").fill("demo")
            page.locator("main").get_by_role("button", name=re.compile("Se connecter|Sign in")).click()
            expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Mes tâches|My tasks"))
            self.pages[username] = page
        return self.pages[username]

    def shot(self, page: Page, name: str) -> Path:
        """A full-page screenshot, numbered in the order of the walk."""
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        _shots_taken.append(path)
        return path

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def cast(chromium, live_server, app, request):  # noqa: F811
    people = Cast(chromium, live_server.url, app, re.sub(r"\W+", "_", request.node.name).strip("_"))
    yield people
    people.close()


# --- what people do, in words -------------------------------------------------------------------

def open_my_task(page: Page, step: str, request_title: str | None = None) -> None:
    """From "My tasks", open the step `step` (of the request titled `request_title`)."""
    page.goto("/")
    rows = page.locator("tbody tr").filter(has=page.get_by_role("link", name=step, exact=True))
    if request_title:
        rows = rows.filter(has_text=request_title)
    rows.first.get_by_role("link", name=step, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(step)


def send(page: Page, step: str) -> None:
    page.get_by_role("button", name="Envoyer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Merci : « {step} » est fait.")


def choose(page: Page, answer: str) -> None:
    """Pick the radio button whose label starts with `answer`."""
    page.get_by_role("radio", name=re.compile("^" + re.escape(answer))).check()


def decide(page: Page, step: str, request_title: str | None, answer: str) -> None:
    """A step that is only a choice: open it from "My tasks", pick `answer`, send it."""
    open_my_task(page, step, request_title)
    choose(page, answer)
    send(page, step)


def request_id_of(page: Page) -> int:
    return int(re.search(r"/requests/(\d+)", page.url).group(1))


def fire_timers(app, instance_id: int, on: date) -> None:  # noqa: F811
    """Run the request's due timers as if it were `on` (the worker's job, done directly)."""
    moment = datetime.combine(on, time(9), tzinfo=timezone.utc)
    with frozen_at(moment), unit_of_work(app.extensions["passerelle.sessions"]) as session:
        assert run_due_timers(session, session.get(Instance, instance_id)), f"no timer due on {on}"


def in_days(n: int) -> date:
    return clock.today() + timedelta(days=n)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks
def pytest_collection_modifyitems(items):
    # One worker runs them all (--dist loadgroup): one Chromium, and one worker clears the screenshots.
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.xdist_group("browser"))


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # a pytest-xdist worker: tests/conftest.py sums them up
        session.config.workeroutput["screenshots"] = len(_shots_taken)


def pytest_terminal_summary(terminalreporter):
    if _shots_taken:
        terminalreporter.write_sep("-", "browser screenshots")
        terminalreporter.write_line(f"{len(_shots_taken)} screenshots in {SCREENSHOTS}")


def fill(page: Page, values: dict[str, str]) -> None:
    """Type each value into the field labelled so (the required mark aside)."""
    for label, value in values.items():
        field(page, label).fill(value)


def field(page: Page, label: str):
    """The form control whose label reads `label`, with or without its required mark."""
    return page.get_by_label(re.compile("^" + re.escape(label) + r"\s*\*?$"))


def start(page: Page, process_name: str, first_step: str) -> None:
    """Make a request: the start page, the kind of mission, straight to its first form."""
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Faire une demande").click()
    page.get_by_role("button", name=f"Commencer : {process_name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(first_step)
