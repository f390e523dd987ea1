"""The facts the eligibility tables rely on (engine/facts.py, "Counting rules"), each at its edges,
walked through the real diagrams with the demo organisation: a signed mission counts on the days it
shares with the request (adjacent dates share none), at its peak rather than summed, up to its real
end (end date passed while feedback waits, cancelled); requests still in approval are pending, not
committed; eligibility runs again when the DGS signs and refuses the second of two 30 % requests;
skills sponsorship keeps the total under 100 %; months with a host count a cancelled convention up
to the day it ended.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from engine import (cancel_instance, complete_task, find_user, frozen_at, get_instance, permissions, run_due_timers,
                    unit_of_work)
from engine.models import Instance

from . import helpers
from .helpers import as_user, complete, instance_state, open_task, waiting, walk

MATP = "temporary_support_mission"
REQUESTED = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
MISSION = helpers.MATP_MISSION
# thomas (manager julien) is asked for; the steps after the description, up to the DGS's signature
UP_TO_SIGNATURE = [("coordinator_review", "luc", {"decision": "approve"}),
                   ("agent_consent", "thomas", {"decision": "accept"}),
                   ("release_agreement", "julien", {"decision": "approve"}),
                   ("hr_record", "karim", {"working_time_arrangement": "Mardis et jeudis matin"})]
DGS_SIGNS = ("dgs_signature", "claire", {"decision": "sign"})


def over_40(share: int) -> str:
    return (f"L'agent consacre déjà {share} % de son temps à d'autres missions : avec celle-ci, "
            "il dépasserait 40 %.")


@pytest.fixture(autouse=True)
def request_time():
    with frozen_at(REQUESTED):
        yield


def request(sessions, lead: str = "nadia", **changes) -> int:
    """`lead` asks for thomas with MISSION (and `changes`): the instance, past its first check."""
    instance_id = helpers.start(sessions, MATP, lead)
    complete(sessions, instance_id, "describe_mission", lead, {**MISSION, **changes})
    return instance_id


def signed(sessions, lead: str = "nadia", **changes) -> int:
    """A mission of thomas walked to the DGS's signature, signed."""
    instance_id = request(sessions, lead, **changes)
    walk(sessions, instance_id, [*UP_TO_SIGNATURE, DGS_SIGNS])
    with unit_of_work(sessions) as s:
        assert s.get(Instance, instance_id).approved_at is not None
    return instance_id


def outcome(sessions, instance_id: int) -> tuple[int, int, list[str], set[str]]:
    """(committed share, pending share, eligibility problems, what it waits for)."""
    _, _, data = instance_state(sessions, instance_id)
    return (data["agent_committed_share"], data["agent_pending_share"], data["eligibility_problems"],
            waiting(sessions, instance_id))


ELIGIBLE, TO_FIX = {"coordinator_review"}, {"describe_mission"}


# --- dates: overlap, peak, real end --------------------------------------------------------------

@pytest.mark.parametrize("start_date, end_date, committed", [
    ("2027-04-01", "2027-06-30", 0),  # starts the day after the signed mission ends: adjacent
    ("2027-06-01", "2027-09-30", 0),  # the case: refused because of a mission ended in March
    ("2026-09-02", "2026-09-30", 0),  # ends the day before it starts
    ("2027-03-31", "2027-06-30", 30),  # one day in common
    ("2026-09-02", "2026-10-01", 30),
])
def test_a_signed_mission_counts_only_on_the_days_it_shares_with_the_request(deployed, start_date, end_date,
                                                                            committed):
    signed(deployed)  # 30 %, 2026-10-01..2027-03-31
    instance_id = request(deployed, time_share=20, start_date=start_date, end_date=end_date)
    problems = [over_40(30)] if committed else []
    assert outcome(deployed, instance_id) == (committed, 0, problems, TO_FIX if committed else ELIGIBLE)


def test_shares_add_up_only_where_missions_run_at_the_same_time(deployed):
    signed(deployed, time_share=20, start_date="2027-01-01", end_date="2027-01-31")
    signed(deployed, time_share=20, start_date="2027-06-01", end_date="2027-06-30")
    year = {"time_share": 20, "start_date": "2027-01-01", "end_date": "2027-12-31"}
    assert outcome(deployed, request(deployed, **year)) == (20, 0, [], ELIGIBLE)  # 20 % at most on any day

    signed(deployed, time_share=10, start_date="2027-06-15", end_date="2027-07-15")  # with June's: 30 %
    # the first request for the year now waits in approval: pending, 20 %
    assert outcome(deployed, request(deployed, **year)) == (30, 20, [over_40(30)], TO_FIX)
    # from July: 10 % signed; both requests for the year are still running, not signed
    assert outcome(deployed, request(deployed, time_share=20, start_date="2027-07-01", end_date="2027-12-31")) == (
        10, 40, [], ELIGIBLE)


def test_a_mission_stops_counting_at_its_end_date_while_its_feedback_waits(deployed):
    mission = signed(deployed)
    with unit_of_work(deployed) as s, frozen_at(datetime(2027, 3, 31, 0, 1, tzinfo=timezone.utc)):
        assert run_due_timers(s, s.get(Instance, mission))
    assert waiting(deployed, mission) == {"agent_feedback", "host_feedback"}
    assert instance_state(deployed, mission)[0] == "running"

    with frozen_at(datetime(2027, 3, 20, tzinfo=timezone.utc)):
        after = request(deployed, time_share=40, start_date="2027-04-01", end_date="2027-06-30")
        during = request(deployed, time_share=20, start_date="2027-03-15", end_date="2027-06-30")
    assert outcome(deployed, after) == (0, 0, [], ELIGIBLE)
    assert outcome(deployed, during) == (30, 40, [over_40(30)], TO_FIX)  # `after`, in approval, is pending


def test_a_cancelled_mission_counts_up_to_the_day_it_ended(deployed):
    mission = signed(deployed)  # 2026-10-01..2027-03-31
    with unit_of_work(deployed) as s, frozen_at(datetime(2026, 12, 15, 10, tzinfo=timezone.utc)):
        cancel_instance(s, mission, as_user(s, "sophie"), "réorganisation du service")
    with frozen_at(datetime(2026, 12, 16, tzinfo=timezone.utc)):
        later = request(deployed, time_share=40, start_date="2027-01-01", end_date="2027-03-31")
        that_day = request(deployed, time_share=20, start_date="2026-12-15", end_date="2027-01-31")
    assert outcome(deployed, later) == (0, 0, [], ELIGIBLE)
    assert outcome(deployed, that_day) == (30, 40, [over_40(30)], TO_FIX)  # `later`, in approval, is pending


# --- pending requests and the check at signature ------------------------------------------------

def test_requests_still_in_approval_are_pending_and_do_not_block_the_first_check(deployed):
    first = request(deployed)  # 30 %, waiting for the coordination
    assert outcome(deployed, first) == (0, 0, [], ELIGIBLE)
    assert outcome(deployed, request(deployed)) == (0, 30, [], ELIGIBLE)  # 30 + 30 pending: both pass
    assert outcome(deployed, request(deployed, start_date="2027-04-01", end_date="2027-06-30")) == (
        0, 0, [], ELIGIBLE)  # no day in common with the two others

    walk(deployed, first, [*UP_TO_SIGNATURE, DGS_SIGNS])  # signed: committed, no longer pending
    assert outcome(deployed, request(deployed, time_share=10)) == (30, 30, [], ELIGIBLE)


def test_the_dgs_cannot_sign_the_second_of_two_30_percent_requests_it_goes_back_to_its_author(deployed):
    with unit_of_work(deployed) as s:  # a second project lead, so that two people ask for thomas
        sophie = find_user(s, "sophie")
        sophie.roles = [*sophie.roles, "project_lead"]
    first, second = request(deployed, "nadia"), request(deployed, "sophie")
    assert outcome(deployed, second) == (0, 30, [], ELIGIBLE)  # both pass their first check
    walk(deployed, first, UP_TO_SIGNATURE)
    walk(deployed, second, UP_TO_SIGNATURE)
    assert waiting(deployed, first) == waiting(deployed, second) == {"dgs_signature"}

    complete(deployed, first, *DGS_SIGNS)
    complete(deployed, second, *DGS_SIGNS)
    with unit_of_work(deployed) as s:
        assert s.get(Instance, first).approved_at is not None
        refused = get_instance(s, second, as_user(s, "claire"))  # the signer still sees the request: why
        assert (refused.status, refused.approved_at) == ("running", None)
        assert refused.data["eligibility_problems"] == [over_40(30)]
        assert refused.data["agent_committed_share"] == 30
        back = open_task(s, second, "describe_mission")
        assert back.assignee == "sophie"
        assert permissions.can_cancel(as_user(s, "sophie"), refused)  # not signed: she may still withdraw
    assert waiting(deployed, second) == TO_FIX

    complete(deployed, second, "describe_mission", "sophie", {**MISSION, "time_share": 10})  # 30 + 10 = 40
    walk(deployed, second, [*UP_TO_SIGNATURE, DGS_SIGNS])
    with unit_of_work(deployed) as s:
        assert s.get(Instance, second).approved_at is not None
    assert waiting(deployed, second) == set()  # signed: waits for the end of the mission


def test_two_signatures_at_the_same_moment_sign_one_request_only(deployed):
    with unit_of_work(deployed) as s:
        sophie = find_user(s, "sophie")
        sophie.roles = [*sophie.roles, "project_lead"]
    requests = [request(deployed, "nadia"), request(deployed, "sophie")]
    for instance_id in requests:
        walk(deployed, instance_id, UP_TO_SIGNATURE)
    with unit_of_work(deployed) as s:
        tasks = [open_task(s, instance_id, "dgs_signature").id for instance_id in requests]
    barrier, errors = threading.Barrier(2), []

    def sign(task_id: int):
        try:
            barrier.wait(timeout=10)  # (SQLite takes its write lock at a unit of work's first statement)
            with frozen_at(REQUESTED), unit_of_work(deployed) as s:
                complete_task(s, task_id, as_user(s, "claire"), {"decision": "sign"})
        except Exception as err:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=sign, args=(task_id,)) for task_id in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with unit_of_work(deployed) as s:
        approved = [s.get(Instance, i).approved_at is not None for i in requests]
    assert sorted(approved) == [False, True]  # the later signature counted the first one
    back = requests[approved.index(False)]
    assert waiting(deployed, back) == TO_FIX
    assert instance_state(deployed, back)[2]["eligibility_problems"] == [over_40(30)]


# --- skills sponsorship: total share, months with the host --------------------------------------

SKILLS = "skills_sponsorship"
SPONSORSHIP_DAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PROPOSAL = {**helpers.SPONSORSHIP_PROPOSAL, "end_date": "2027-09-30"}  # 18 months
TO_SIGNATURE = [
    ("manager_opinion", "julien", {"decision": "approve", "workload_arrangement": "Pierre reprend le jeudi"}),
    ("ethics_check", "ines", {"decision": "compatible", "duties_reviewed": True}),
    ("draft_convention", "karim", helpers.SPONSORSHIP_CONVENTION),
    ("host_agreement", "hugo", {"decision": "accept", "met_agent_on": "2026-03-10"}),
    ("agent_written_agreement", "thomas", {"agree": True}),
    ("sign_decision", "claire", {"decision": "sign"}),
]


def propose(sessions, **changes) -> int:
    instance_id = helpers.start(sessions, SKILLS, "thomas")
    complete(sessions, instance_id, "propose_mission", "thomas", {**PROPOSAL, **changes})
    return instance_id


def test_skills_sponsorship_keeps_the_total_under_100_percent(deployed):
    with frozen_at(SPONSORSHIP_DAY):
        signed(deployed, time_share=20, start_date="2026-04-01", end_date="2026-09-30")
        full, rest = propose(deployed, time_share=100), propose(deployed, time_share=80)
    _, _, data = instance_state(deployed, full)
    assert (data["agent_committed_share"], data["eligibility_problems"]) == (20, [
        "L'agent consacre déjà 20 % de son temps à d'autres missions sur ces dates : avec celle-ci, "
        "il dépasserait 100 % de son temps de travail."])
    assert waiting(deployed, full) == {"propose_mission"}
    assert instance_state(deployed, rest)[2]["eligibility_problems"] == []
    assert waiting(deployed, rest) == {"manager_opinion"}


def test_a_convention_cancelled_after_signature_counts_with_its_host_up_to_the_day_it_ended(deployed):
    with frozen_at(SPONSORSHIP_DAY):
        convention = propose(deployed)
        walk(deployed, convention, TO_SIGNATURE)
    with unit_of_work(deployed) as s:
        assert s.get(Instance, convention).approved_at is not None
    with unit_of_work(deployed) as s, frozen_at(datetime(2026, 10, 15, 9, tzinfo=timezone.utc)):
        cancel_instance(s, convention, as_user(s, "sophie"), "fin anticipée d'un commun accord")
    with frozen_at(datetime(2026, 10, 20, 9, tzinfo=timezone.utc)):
        # served 2026-04-01..2026-10-15: 7 months begun, not the 18 it was signed for
        too_long = propose(deployed, start_date="2026-11-01", end_date="2029-04-30")  # 7 + 30 > 36
        allowed = propose(deployed, start_date="2026-11-01", end_date="2027-12-27")
    _, _, data = instance_state(deployed, allowed)
    assert (data["months_with_host"], data["agent_committed_share"], data["eligibility_problems"]) == (7, 0, [])
    _, _, data = instance_state(deployed, too_long)
    assert data["months_with_host"] == 7
    assert ("Avec le même organisme, la durée totale des conventions ne peut pas dépasser 36 mois "
            "(conventions précédentes comprises).") in data["eligibility_problems"]
