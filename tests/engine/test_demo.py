"""The demo that `./scripts/run` starts shows requests at several stages, whatever today's date."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine import frozen_at, unit_of_work
from engine.demo import seed_requests
from engine.models import HumanTask, Instance


@pytest.mark.parametrize("today", [datetime(2026, 11, 25, 9), datetime(2027, 3, 1, 9)])
def test_demo_requests_wait_at_different_steps(deployed, today):
    with unit_of_work(deployed) as s, frozen_at(today):
        assert seed_requests(s) == 6
    with unit_of_work(deployed) as s:
        waiting = {i.title: sorted(t.bpmn_id for t in s.query(HumanTask).filter_by(instance_id=i.id, status="ready"))
                   for i in s.query(Instance)}
        statuses = sorted((i.status, i.end_state or "") for i in s.query(Instance))
    assert waiting["Refonte du guichet des aides aux familles"] == ["coordinator_review"]
    assert waiting["Plan vélo départemental : concertation"] == ["agent_consent", "release_agreement"]
    assert waiting["Transmission sur les marchés publics"] == ["matching_meeting"]
    assert waiting["Un coup de main sur un tableau de suivi"] == ["apply"]
    assert statuses.count(("completed", "completed")) == 1 and statuses.count(("running", "")) == 5
