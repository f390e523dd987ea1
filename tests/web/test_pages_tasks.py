"""My tasks and the task page: context to decide, the form, errors kept next to their fields,
claim and release, and who may open what."""
from __future__ import annotations

import re

from .page_client import MISSION, Person, assert_error_page, open_task, start_support_mission, text_of


def test_starting_is_one_click_then_one_form(app):
    nadia = Person(app.test_client(), "nadia")
    response = nadia.post("/requests/new/temporary_support_mission")
    assert response.status_code == 303 and re.fullmatch(r"/tasks/\d+", response.location)
    page = nadia.page(response.location)
    text = text_of(page)
    assert "Décrire la mission" in text
    assert "Les champs marqués d’un * sont obligatoires." in text
    # Every field has a label tied to it, and the required ones say so to screen readers.
    for field in ("title", "project", "objectives", "time_share", "start_date", "end_date", "agent"):
        assert f'<label for="field-{field}-0">' in page
        assert re.search(rf'id="field-{field}-0"[^>]*aria-required="true"', page)
    assert 'type="date" id="field-start_date-0"' in page
    assert 'type="number" inputmode="numeric" step="1" id="field-time_share-0"' in page
    assert '<option value="thomas">Thomas Girard (DMOB)</option>' in page  # people by name, not username
    assert '<legend>Niveau d&#39;expertise attendu' in page  # a choice is a fieldset of radio buttons


def test_validation_errors_are_next_to_their_fields_and_values_are_kept(app):
    nadia = Person(app.test_client(), "nadia")
    task_url = nadia.post("/requests/new/temporary_support_mission").location
    response = nadia.post(task_url, {**MISSION, "time_share": "beaucoup", "project": "", "start_date": "2031-02-30"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    text = text_of(page)
    assert "Certaines réponses sont à revoir" in text
    assert "Quotité (% du temps de travail de l'agent) : Saisissez un nombre entier, par exemple 20." in text
    assert "Projet concerné : Veuillez remplir ce champ." in text
    assert "Date de début : Saisissez une date" in text
    # The message sits with its field, which points at it, and everything typed is still there.
    assert re.search(r'id="time_share-error"[^>]*>.*Saisissez un nombre entier', page)
    assert re.search(r'id="field-time_share-0"[^>]*value="beaucoup"[^>]*aria-invalid="true"'
                     r'[^>]*aria-describedby="time_share-hint time_share-error"', page)
    assert 'value="Refonte du site des solidarités"' in page
    assert "Aider l&#39;équipe à réécrire les pages d&#39;aide aux familles." in page
    assert re.search(r'value="intermediate" checked', page)
    assert '<option value="thomas" selected>' in page
    assert "<title>Erreur — Décrire la mission — Passerelle</title>" in page
    # Fixing them goes through.
    response = nadia.post(task_url, MISSION)
    assert response.status_code == 303 and response.location.startswith("/requests/")


def test_rules_not_met_bring_the_request_back_with_the_reasons_and_the_values(app):
    nadia = Person(app.test_client(), "nadia")
    task_url = nadia.post("/requests/new/temporary_support_mission").location
    response = nadia.post(task_url, {**MISSION, "time_share": "60"})
    assert response.status_code == 303
    # The same person describes again: straight back to the form, with why and what was typed.
    assert re.fullmatch(r"/tasks/\d+", response.location)
    page = nadia.page(response.location)
    text = text_of(page)
    assert "Cette demande ne respecte pas encore les règles" in text
    assert "La quotité ne peut pas dépasser 40 % du temps de travail." in text
    assert 'id="field-time_share-0" name="time_share" value="60"' in page


def test_a_reviewer_sees_the_facts_and_earlier_steps_then_decides(app):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    luc = Person(app.test_client(), "luc")
    home = luc.text("/")
    assert "À prendre en charge pour vos groupes 1" in home
    assert "Avis de la coordination" in home and "Refonte du site des solidarités" in home
    assert "Nadia Benali" in home
    task_id = open_task(app, "luc", "coordinator_review")
    text = luc.text(f"/tasks/{task_id}")
    assert "Vérifiez que la mission est bien cadrée" in text  # the step's instructions
    assert "Intitulé de la mission Refonte du site des solidarités" in text
    assert "Agent sollicité (identifiant) Thomas Girard" in text
    assert "Date de début 6 janvier 2031" in text
    assert "Étapes précédentes" in text and "Décrire la mission — Nadia Benali" in text
    assert "Obligatoire si vous répondez « Refuser » ou « À retravailler » à « Décision »." in text
    # A refusal needs a comment: said next to the comment, with the choice kept.
    response = luc.post(f"/tasks/{task_id}", {"decision": "reject"})
    assert response.status_code == 422
    text = text_of(response.get_data(as_text=True))
    assert "Commentaire : Veuillez remplir ce champ : il est nécessaire quand « Décision » vaut « Refuser »." in text
    response = luc.post(f"/tasks/{task_id}", {"decision": "approve", "comment": "Bien cadré"})
    assert response.status_code == 303 and response.location == f"/requests/{instance_id}"
    text = luc.text(response.location)
    assert "Merci : « Avis de la coordination » est fait." in text
    assert "Décision Approuver" in text and "Commentaire Bien cadré" in text


def test_rework_sends_the_description_back_with_the_coordinations_words(app):
    instance_id, _ = start_support_mission(Person(app.test_client(), "nadia"))
    luc = Person(app.test_client(), "luc")
    task_id = open_task(app, "luc", "coordinator_review")
    luc.post(f"/tasks/{task_id}", {"decision": "rework", "comment": "Précisez les objectifs."})
    nadia = Person(app.test_client(), "nadia")
    again = open_task(app, "nadia", "describe_mission", instance_id)
    page = nadia.page(f"/tasks/{again}")
    text = text_of(page)
    assert "Cette demande vous revient" in text
    assert "Luc Bernard a répondu à l’étape « Avis de la coordination » :" in text
    assert "Précisez les objectifs." in text
    assert 'value="Refonte du site des solidarités"' in page  # the description is there to fix


def test_claim_then_release_a_group_task(app):
    start_support_mission(Person(app.test_client(), "nadia"))
    task_id = open_task(app, "luc", "coordinator_review")
    luc = Person(app.test_client(), "luc")
    assert "La prendre en charge" in luc.text(f"/tasks/{task_id}")
    response = luc.post(f"/tasks/{task_id}/claim")
    assert response.status_code == 303
    text = luc.text(response.location)
    assert "Vous avez pris en charge « Avis de la coordination »" in text
    assert "La rendre au groupe" in text
    assert "À faire maintenant 1" in luc.text("/")
    response = luc.post(f"/tasks/{task_id}/release")
    assert "« Avis de la coordination » est de retour dans la liste partagée." in luc.text(response.location)
    assert "À prendre en charge pour vos groupes 1" in luc.text("/")


def test_a_task_claimed_by_someone_else_shows_who_and_no_form(app):
    start_support_mission(Person(app.test_client(), "nadia"))
    task_id = open_task(app, "luc", "coordinator_review")
    Person(app.test_client(), "luc").post(f"/tasks/{task_id}/claim")
    # Sophie (HR) may see every request but this step is not hers: a 403 page that says whose it is.
    sophie = Person(app.test_client(), "sophie")
    text = assert_error_page(sophie.get(f"/tasks/{task_id}"), 403)
    assert "Cette étape revient à Luc Bernard." in text
    # Completing it anyway is refused too.
    assert sophie.post(f"/tasks/{task_id}", {"decision": "approve"}).status_code in (403, 409)


def test_a_task_of_a_request_i_cannot_see_is_not_found(app):
    start_support_mission(Person(app.test_client(), "nadia"))
    task_id = open_task(app, "luc", "coordinator_review")
    text = assert_error_page(Person(app.test_client(), "pierre").get(f"/tasks/{task_id}"), 404)
    assert "Page introuvable" in text


def test_a_done_task_says_who_did_it(app):
    nadia = Person(app.test_client(), "nadia")
    instance_id, task_id = start_support_mission(nadia)
    text = nadia.text(f"/tasks/{task_id}")
    assert "Cette étape a été faite par Nadia Benali" in text
    # Sending it again (a double click, the back button) changes nothing and says so.
    response = nadia.post(f"/tasks/{task_id}", MISSION)
    assert response.location == f"/requests/{instance_id}"
    assert "Vous aviez déjà répondu à « Décrire la mission »." in nadia.text(response.location)


def test_home_lists_are_empty_with_a_way_forward(app):
    text = Person(app.test_client(), "pierre").text("/")
    assert "À faire maintenant 0" in text and "Rien à faire pour l’instant." in text
    assert "Rien n’attend vos groupes." in text


def test_a_signature_the_rules_no_longer_allow_shows_the_signer_why_and_goes_back_to_the_author(app):
    """Two 30 % requests for thomas pass their first check; once the DGS has signed the first, her
    signature of the second is not given: her next page says why, and so does the author's task."""
    nadia, claire = Person(app.test_client(), "nadia"), Person(app.test_client(), "claire")
    people = {name: Person(app.test_client(), name) for name in ("luc", "thomas", "julien", "karim")}
    steps = [("luc", "coordinator_review", {"decision": "approve"}),
             ("thomas", "agent_consent", {"decision": "accept"}),
             ("julien", "release_agreement", {"decision": "approve"}),
             ("karim", "hr_record", {"working_time_arrangement": "Le mardi"})]
    requests = [start_support_mission(nadia, {"time_share": "30"})[0] for _ in range(2)]
    for instance_id in requests:
        for username, bpmn_id, data in steps:
            response = people[username].post(f"/tasks/{open_task(app, username, bpmn_id, instance_id)}", data)
            assert response.status_code == 303, (bpmn_id, text_of(response.get_data(as_text=True))[:500])
    reason = ("L'agent consacre déjà 30 % de son temps à d'autres missions : avec celle-ci, "
              "il dépasserait 40 %.")
    for instance_id in requests:
        task_id = open_task(app, "claire", "dgs_signature", instance_id)
        response = claire.post(f"/tasks/{task_id}", {"decision": "sign"})
        assert response.status_code == 303
        page = claire.text(response.location)
        assert (reason in page) is (instance_id == requests[1]), page[:1500]
    back = open_task(app, "nadia", "describe_mission", requests[1])
    assert reason in nadia.text(f"/tasks/{back}")
