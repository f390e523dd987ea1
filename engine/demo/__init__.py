"""Demo data: the organisation (organisation.yaml) and a few requests at different stages, so that a
fresh `./scripts/run` shows task lists, timelines and diagrams rather than empty pages."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from .. import clock
from ..models import HumanTask, Instance
from ..org import find_user
from ..runtime import complete_task, start_instance


def _day(days: int) -> str:
    return (clock.today() + timedelta(days=days)).isoformat()


class _Story:
    def __init__(self, session: Session, process: str, starter: str):
        self.session = session
        self.instance = start_instance(session, process, find_user(session, starter))

    def do(self, bpmn_id: str, username: str, data: dict) -> "_Story":
        task = self.session.query(HumanTask).filter_by(
            instance_id=self.instance.id, bpmn_id=bpmn_id, status="ready").one()
        complete_task(self.session, task.id, find_user(self.session, username), data)
        return self


#: everyone the demo requests name, as starter or actor
PEOPLE = ("nadia", "julien", "luc", "sophie", "pierre", "lea", "thomas", "marie")


def is_new_demo_database(session: Session) -> bool:
    """True when the database holds no request yet and every person of the demo requests (an
    organisation of one's own has none of them): the only database `seed_requests` goes into."""
    if session.query(Instance.id).first() is not None:
        return False
    return all(find_user(session, username) is not None for username in PEOPLE)


def seed_requests(session: Session) -> int:
    """Start the demo requests (the demo organisation and processes/ must be loaded); returns how many."""
    start, end = _day(30), _day(180)
    _Story(session, "temporary_support_mission", "nadia").do("describe_mission", "nadia", {
        "title": "Refonte du guichet des aides aux familles", "project": "Guichet unique des solidarités",
        "objectives": "Simplifier les formulaires avec les usagers et l'équipe d'accueil",
        "expertise_level": "intermediate", "time_share": 20, "start_date": start, "end_date": end,
        "agent": "thomas", "is_project_support": True})
    _Story(session, "temporary_support_mission", "julien").do("describe_mission", "julien", {
        "title": "Plan vélo départemental : concertation", "project": "Plan vélo 2027",
        "objectives": "Préparer et animer trois ateliers de concertation avec les communes",
        "expertise_level": "expert", "time_share": 30, "start_date": start, "end_date": _day(300),
        "agent": "lea", "is_project_support": True}).do("coordinator_review", "luc", {"decision": "approve"})
    _Story(session, "end_of_career_mission", "sophie").do("describe_need", "sophie", {
        "title": "Transmission sur les marchés publics", "host_unit": "Service des routes",
        "host_manager": "julien", "description": "Partager vingt ans de pratique des marchés de travaux",
        "time_share": 20, "start_date": start, "end_date": end, "agent": "marie"})
    _Story(session, "skills_sponsorship", "pierre").do("propose_mission", "pierre", {
        "host_organisation": "restos-isere", "mission_description": "Organiser la logistique des collectes d'hiver",
        "previous_duties": "Agent d'exploitation des routes, sans lien avec l'association", "time_share": 20,
        "start_date": start, "end_date": end, "reimbursed": False, "estimated_value_eur": 9000})
    _Story(session, "mission_exchange", "lea").do("post_need", "lea", {
        "title": "Un coup de main sur un tableau de suivi", "description": "Mettre en forme le suivi des dossiers APA",
        "skills_wanted": "Tableur, goût pour la mise en forme", "effort_days": 3, "deadline": _day(14)})
    (_Story(session, "mission_exchange", "thomas")
        .do("post_need", "thomas", {"title": "Relecture d'un guide d'accueil", "description": "Guide des agents de route",
                                    "skills_wanted": "Rédaction", "effort_days": 2, "deadline": _day(10)})
        .do("apply", "marie", {"motivation": "J'ai rédigé le guide précédent, avec plaisir"})
        .do("conversation", "thomas", {"outcome": "go", "met_on": _day(0)})
        .do("manager_approval", "nadia", {"decision": "approve", "workload_arrangement": "Deux après-midi"})
        .do("mission_done", "marie", {"days_spent": 2, "summary": "Guide relu et simplifié"})
        .do("requester_feedback", "thomas", {"thanks": "Merci Marie, le guide est bien plus clair !",
                                             "recommend": True}))
    return 6
