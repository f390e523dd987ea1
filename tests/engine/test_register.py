"""Phases and the mission register, through the engine, on the real diagrams and the demo
organisation: each phase change along a skills sponsorship, the endings, who sees which rows,
filters, sorts and pages."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from engine import cancel_instance, frozen_at, register, run_due_timers, start_instance, unit_of_work
from engine.models import Instance

from .helpers import as_user, complete
from .test_process_skills_sponsorship import KEY, PROPOSAL, STEPS

TODAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
SUPPORT = {"title": "Appui au schéma des mobilités", "project": "Schéma des mobilités",
           "objectives": "Cartographier les besoins de covoiturage", "expertise_level": "intermediate",
           "time_share": 30, "start_date": "2026-05-01", "end_date": "2026-10-31", "agent": "marie",
           "is_project_support": True}


@pytest.fixture(autouse=True)
def today():
    with frozen_at(TODAY):
        yield


def phase(sessions, instance_id: int, reader: str = "sophie") -> str | None:
    with unit_of_work(sessions) as s:
        found = register.missions(s, as_user(s, reader), page_size=200).items
        return next(m.phase for m in found if m.instance_id == instance_id)


def start(sessions, key=KEY, username="thomas", data=None) -> int:
    with unit_of_work(sessions) as s:
        return start_instance(s, key, as_user(s, username), data).id


def test_a_skills_sponsorship_goes_through_every_phase(deployed):
    instance_id = start(deployed)
    assert phase(deployed, instance_id) == "draft"
    for name, username, data in STEPS:
        complete(deployed, instance_id, name, username, data)
        if name != "sign_decision":
            assert phase(deployed, instance_id) == "in_approval", name
    assert phase(deployed, instance_id) == "approved"  # signed, starts on 2026-04-01
    with unit_of_work(deployed) as s:
        row = s.get(Instance, instance_id)
        assert (row.phase, row.start_date, row.end_date, row.time_share) == (
            "approved", date(2026, 4, 1), date(2026, 9, 30), 20)
        assert (row.host, row.host_organisation, row.host_directorate) == (
            "Les Restos du Cœur de l'Isère", "restos-isere", None)
    with frozen_at(datetime(2026, 4, 1, 8, tzinfo=timezone.utc)):  # its first day: no step, yet ongoing
        assert phase(deployed, instance_id) == "ongoing"
        with unit_of_work(deployed) as s:
            assert [m.instance_id for m in register.missions(
                s, as_user(s, "sophie"), register.Filters(phase=["ongoing"])).items] == [instance_id]
            assert register.missions(s, as_user(s, "sophie"), register.Filters(phase=["approved"])).total == 0
    with unit_of_work(deployed) as s, frozen_at(datetime(2026, 9, 30, 0, 1, tzinfo=timezone.utc)):
        assert run_due_timers(s, s.get(Instance, instance_id))
    assert phase(deployed, instance_id) == "closing"
    complete(deployed, instance_id, "host_report", "hugo", {"host_assessment": "Très utile", "would_host_again": True})
    complete(deployed, instance_id, "agent_feedback", "thomas", {"skills_gained": "Logistique", "belonging": "4",
                                                                 "recommend": True})
    assert phase(deployed, instance_id) == "closing"
    complete(deployed, instance_id, "hr_close", "sophie", {"recognition_note": "Valorisé"})
    assert phase(deployed, instance_id) == "closed"


def test_endings_have_their_phase(deployed):
    refused = start(deployed)
    complete(deployed, refused, "propose_mission", "thomas", PROPOSAL)
    complete(deployed, refused, "manager_opinion", "julien", {"decision": "reject", "comment": "Pas cette année"})
    declined = start(deployed)
    for name, username, data in STEPS[:4]:
        complete(deployed, declined, name, username, data)
    complete(deployed, declined, "host_agreement", "hugo", {"decision": "refuse", "comment": "Pas cette fois"})
    withdrawn, cancelled = start(deployed), start(deployed)
    with unit_of_work(deployed) as s:
        cancel_instance(s, withdrawn, as_user(s, "thomas"), "finalement non")
        cancel_instance(s, cancelled, as_user(s, "sophie"), "réorganisation")
    assert [phase(deployed, i) for i in (refused, declined, withdrawn, cancelled)] == [
        "refused", "declined", "withdrawn", "cancelled"]


@pytest.fixture
def missions(deployed):
    """thomas's skills sponsorship with restos-isere (in approval), marie's temporary support asked by
    nadia (draft, DSOL), and pierre's request withdrawn."""
    sponsorship = start(deployed)
    for name, username, data in STEPS[:2]:
        complete(deployed, sponsorship, name, username, data)
    support = start(deployed, "temporary_support_mission", "nadia")
    complete(deployed, support, "describe_mission", "nadia", SUPPORT)
    withdrawn = start(deployed, username="pierre")
    with unit_of_work(deployed) as s:
        cancel_instance(s, withdrawn, as_user(s, "pierre"), "plus tard")
    return {"sponsorship": sponsorship, "support": support, "withdrawn": withdrawn}


def seen(sessions, reader: str, filters=register.Filters(), sort=register.DEFAULT_SORT) -> list[int]:
    with unit_of_work(sessions) as s:
        return [m.instance_id for m in register.missions(s, as_user(s, reader), filters, sort).items]


@pytest.mark.parametrize("reader, expected", [
    ("sophie", {"sponsorship", "support", "withdrawn"}),  # hr
    ("luc", {"sponsorship", "support", "withdrawn"}),  # coordinator
    ("antoine", {"sponsorship", "support", "withdrawn"}),  # auditor
    ("elodie", {"sponsorship", "support", "withdrawn"}),  # admin
    ("julien", {"sponsorship", "withdrawn"}),  # manager of thomas and pierre
    ("thomas", {"sponsorship"}),  # his own
    ("marie", {"support"}),  # the agent of the support
    ("nadia", {"support"}),  # who asked for it (and marie's manager)
    ("hugo", {"sponsorship"}),  # restos-isere's referent
    ("lea", set()),  # nothing of hers
    ("claire", set()),  # manager of managers only: not the agents'
])
def test_who_sees_which_missions(missions, deployed, reader, expected):
    assert set(seen(deployed, reader)) == {missions[name] for name in expected}


def test_a_mission_row_says_agent_host_dates_and_who_it_waits_for(missions, deployed):
    with unit_of_work(deployed) as s:
        rows = {m.instance_id: m for m in register.missions(s, as_user(s, "sophie")).items}
    support = rows[missions["support"]]
    assert (support.process, support.title, support.phase, support.agent, support.agent_name,
            support.agent_directorate) == ("temporary_support_mission", SUPPORT["title"], "in_approval", "marie",
                                          "Marie Lefebvre", "DSOL")
    assert (support.host, support.host_directorate, support.time_share, support.start_date, support.end_date) == (
        "Schéma des mobilités", "DSOL", 30, date(2026, 5, 1), date(2026, 10, 31))
    assert support.waiting_for == (("group", "coordinator"),) and support.waiting_since == TODAY
    sponsorship = rows[missions["sponsorship"]]
    assert sponsorship.waiting_for == (("group", "ethics"),) and sponsorship.agent_directorate == "DMOB"
    withdrawn = rows[missions["withdrawn"]]
    assert (withdrawn.phase, withdrawn.end_state, withdrawn.waiting_for, withdrawn.waiting_since) == (
        "withdrawn", "withdrawn", (), None)


def test_filters_sorts_and_pages(missions, deployed):
    m = missions
    assert seen(deployed, "sophie", register.Filters(process="temporary_support_mission")) == [m["support"]]
    assert set(seen(deployed, "sophie", register.Filters(phase=["in_approval", "withdrawn"]))) == {
        m["sponsorship"], m["support"], m["withdrawn"]}
    assert seen(deployed, "sophie", register.Filters(phase=["withdrawn"])) == [m["withdrawn"]]
    assert seen(deployed, "sophie", register.Filters(agent="marie")) == [m["support"]]
    # giving (the agent's directorate) or hosting
    assert set(seen(deployed, "sophie", register.Filters(directorate="DMOB"))) == {m["sponsorship"], m["withdrawn"]}
    assert seen(deployed, "sophie", register.Filters(directorate="DSOL")) == [m["support"]]
    # overlapping dates: touching the first or the last day counts, the day after does not
    assert set(seen(deployed, "sophie", register.Filters(overlaps=(date(2026, 9, 30), date(2026, 12, 31))))) == {
        m["sponsorship"], m["support"]}
    assert seen(deployed, "sophie", register.Filters(overlaps=(date(2026, 10, 1), date(2026, 12, 31)))) == [
        m["support"]]
    assert seen(deployed, "sophie", register.Filters(overlaps=(date(2026, 11, 1), date(2026, 12, 31)))) == []
    # free text in titles and descriptions, case and accents as typed; % is no wildcard
    assert seen(deployed, "sophie", register.Filters(q="covoiturage")) == [m["support"]]
    assert seen(deployed, "sophie", register.Filters(q="DISTRIBUTION")) == [m["sponsorship"]]
    assert seen(deployed, "sophie", register.Filters(q="%")) == []
    # sorts, both ways; missing values last
    assert seen(deployed, "sophie", sort="time_share") == [m["sponsorship"], m["support"], m["withdrawn"]]
    assert seen(deployed, "sophie", sort="-time_share") == [m["support"], m["sponsorship"], m["withdrawn"]]
    assert seen(deployed, "sophie", sort="agent")[:2] == [m["support"], m["withdrawn"]]  # Marie, Pierre, Thomas
    assert seen(deployed, "sophie", sort="instance_id") == sorted(m.values())
    with pytest.raises(ValueError):
        seen(deployed, "sophie", sort="state")
    with unit_of_work(deployed) as s:
        first = register.missions(s, as_user(s, "sophie"), sort="instance_id", page=1, page_size=2)
        second = register.missions(s, as_user(s, "sophie"), sort="instance_id", page=2, page_size=2)
        assert (first.total, second.total) == (3, 3)
        assert [x.instance_id for x in first.items + second.items] == sorted(m.values())
        exported = list(register.export(s, as_user(s, "julien"), sort="instance_id", batch=1))
        assert [x.instance_id for x in exported] == sorted([m["sponsorship"], m["withdrawn"]])


def test_a_need_nobody_answered_expires_at_its_deadline(deployed):
    """mission_exchange: the need waits for volunteers (`in_approval`, its deadline as end date)
    until its boundary timer ends it (`expired`)."""
    instance_id = start(deployed, "mission_exchange", "marie")
    assert phase(deployed, instance_id) == "draft"
    complete(deployed, instance_id, "post_need", "marie", {
        "title": "Inventaire des archives", "description": "Trier et inventorier 40 cartons",
        "skills_wanted": "Rigueur", "effort_days": 3, "deadline": "2026-03-20"})
    assert phase(deployed, instance_id) == "in_approval"
    with unit_of_work(deployed) as s:
        row = s.get(Instance, instance_id)
        assert (row.end_date, row.host, row.host_directorate) == (date(2026, 3, 20), "Marie Lefebvre", "DSOL")
    with unit_of_work(deployed) as s, frozen_at(datetime(2026, 3, 20, 0, 1, tzinfo=timezone.utc)):
        assert run_due_timers(s, s.get(Instance, instance_id))
    assert phase(deployed, instance_id) == "expired"
