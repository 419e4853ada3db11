"""The HR / CSR manager pages: challenges (list, create, edit, publish, cancel, dashboard, delivery) and
teams, as an admin, an executive (read only), a participant (403) and someone signed out (sign in).

Every list page and the dashboard issue the same number of queries with 10 rows as with 1,000.

This module holds the challenge list, creating, editing, publishing and cancelling; the dashboard and
the delivery, the team pages, who may do what and the query counts have a module each in this package.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.roles import ORG_ADMIN
from challenges.models import Challenge, ChallengeEvent, Counterpart, SkillSlot
from tests.challenges.manage.support import (
    SUMMER,
    UTC,
    WINTER,
    Status,
    _challenge_data,
    _draft,
    _error_next_to,
    _km,
    _messages,
    _page,
    _state,
)
from tests.factories import ChallengeFactory, CounterpartFactory, UserFactory

pytestmark = pytest.mark.django_db


# The challenge list ---------------------------------------------------------------------------------


def test_the_challenge_list_shows_each_challenge_with_its_status_and_progress(admin_client):
    # Given an open challenge at 4 of 10 participants and a draft
    ChallengeFactory.create(title="Bike to work", pledge_count=4, goal_target=Decimal(10))
    _draft(title="Clean-up day")

    # When the admin opens the list
    response = admin_client.get("/manage/challenges/")

    # Then both are there, with their status and an accessible progress bar
    page = _page(response)
    assert response.status_code == 200
    assert "Bike to work" in page
    assert "Clean-up day" in page
    assert "Draft" in page
    assert "Open" in page
    assert '<progress max="100" value="40" aria-label="Progress of Bike to work">' in page
    assert "4 of 10 participants (40 %)" in page
    assert 'href="/manage/challenges/new/"' in page


def test_the_challenge_list_filters_by_status(admin_client):
    # Given an open challenge and a draft
    ChallengeFactory.create(title="Bike to work")
    _draft(title="Clean-up day")

    # When the admin asks for drafts only
    response = admin_client.get("/manage/challenges/", {"status": "draft"})

    # Then only the draft is listed, and the filter shows the choice
    page = _page(response)
    assert "Clean-up day" in page
    assert "Bike to work" not in page
    assert '<option value="draft" selected>' in page


def test_an_unknown_status_filter_lists_every_challenge(admin_client):
    ChallengeFactory.create(title="Bike to work")

    response = admin_client.get("/manage/challenges/", {"status": "nonsense"})

    assert response.status_code == 200
    assert "Bike to work" in _page(response)


# Creating a challenge -------------------------------------------------------------------------------


def test_the_new_challenge_page_offers_the_templates_and_a_blank_form(admin_client):
    response = admin_client.get("/manage/challenges/new/")

    page = _page(response)
    assert response.status_code == 200
    assert "One organic product a week" in page
    assert "Build a shared garden" in page
    assert 'href="?template=community-garden"' in page
    assert "Start from scratch" in page
    assert '<input type="text" name="title" maxlength="200" required id="id_title">' in page


def test_the_templates_are_shown_in_the_organisations_language(org_b, client_b):
    # Given the admin of Beta, a French-speaking municipality
    with tenant_context(org_b):
        client_b.force_login(UserFactory.create(email="rh@beta.test", role=ORG_ADMIN))

        # When they open the new-challenge page, and pick a template
        listing = _page(client_b.get("/manage/challenges/new/"))
        form = _page(client_b.get("/manage/challenges/new/", {"template": "bike-to-work"}))

    # Then the templates read in French, and so does the prefilled form and its metric
    assert "Un produit bio par semaine" in listing
    assert "One organic product a week" not in listing
    assert 'value="10 000 km à vélo"' in form
    assert "Kilomètres à vélo au lieu de la voiture (km)</option>" in form


def test_a_template_prefills_the_form_with_its_skill_slots_and_counterpart(admin_client):
    # When the admin picks the shared-garden template
    response = admin_client.get("/manage/challenges/new/", {"template": "community-garden"})

    # Then the form carries its title, goal, skill slots and counterpart
    page = _page(response)
    assert 'value="Build a shared garden"' in page
    assert '<input type="hidden" name="template_key" value="community-garden"' in page
    assert re.search(r'<input type="radio" name="goal_kind" value="skills"[^>]*checked', page)
    assert 'name="slots-0-skill" value="Landscape design"' in page
    assert 'name="slots-1-skill" value="Carpentry"' in page
    assert 'name="slots-1-hours" value="20"' in page
    assert "The land, tools and water supply</textarea>" in page


def test_a_quantity_template_preselects_its_metric(admin_client):
    response = admin_client.get("/manage/challenges/new/", {"template": "bike-to-work"})

    metric = _km()
    assert f'<option value="{metric.pk}" selected>' in _page(response)


def test_an_admin_creates_a_challenge_from_scratch_in_the_organisations_time_zone(admin_client, admin):
    # When the admin submits a participants challenge starting at 09:00 in Paris (summer time)
    response = admin_client.post(
        "/manage/challenges/new/",
        _challenge_data(counterpart_description="15 % organic food", counterpart_currency="eur"),
    )

    # Then a draft exists, created by them, with its counterpart and a recorded creation
    challenge = Challenge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/manage/challenges/{challenge.pk}/"
    assert challenge.status == Status.DRAFT
    assert challenge.created_by == admin
    assert challenge.goal_target == Decimal(100)
    assert challenge.starts_at == dt.datetime(SUMMER, 6, 1, 7, 0, tzinfo=UTC)
    assert challenge.deadline == dt.datetime(SUMMER, 7, 1, 16, 0, tzinfo=UTC)
    assert challenge.counterpart.description == "15 % organic food"
    assert challenge.counterpart.currency == "EUR"
    assert challenge.events.get().to_status == Status.DRAFT
    # And the dashboard says so, with the times as they were typed
    dashboard = _page(admin_client.get(response["Location"]))
    assert "Draft saved" in dashboard
    assert f"from June 1, {SUMMER}, 9 a.m. to July 1, {SUMMER}, 6 p.m." in dashboard


def test_an_admin_creates_a_skills_challenge_from_a_template(admin_client):
    # When the admin submits the shared-garden template with its slots
    response = admin_client.post(
        "/manage/challenges/new/",
        _challenge_data(
            slots=[("Landscape design", "2", ""), ("Carpentry", "2", "20")],
            template_key="community-garden",
            title="Build a shared garden",
            goal_kind="skills",
            goal_target="",
            counterpart_description="The land, tools and water supply",
        ),
    )

    # Then the challenge keeps its template and its two slots; the blank row is skipped
    challenge = Challenge.objects.get()
    assert response.status_code == 302
    assert challenge.template_key == "community-garden"
    assert challenge.goal_target is None
    assert list(challenge.skill_slots.values_list("skill", "count", "hours")) == [
        ("Landscape design", 2, None),
        ("Carpentry", 2, Decimal(20)),
    ]


def test_an_admin_creates_a_quantity_challenge_with_a_metric(admin_client):
    metric = _km()

    response = admin_client.post(
        "/manage/challenges/new/",
        _challenge_data(goal_kind="quantity", goal_target="10000", metric=str(metric.pk)),
    )

    assert response.status_code == 302
    assert Challenge.objects.get().metric == metric


def test_a_quantity_goal_without_a_metric_shows_the_error_next_to_the_metric_and_changes_nothing(
    admin_client,
):
    before = _state()

    response = admin_client.post("/manage/challenges/new/", _challenge_data(goal_kind="quantity"))

    assert response.status_code == 200
    assert "A quantity goal needs a metric" in _error_next_to(response, "id_metric")
    assert "Constraint" not in _page(response)
    assert _state() == before


def test_a_deadline_before_the_start_shows_the_error_next_to_the_deadline_and_changes_nothing(admin_client):
    before = _state()

    response = admin_client.post("/manage/challenges/new/", _challenge_data(deadline=f"{SUMMER}-05-01T09:00"))

    assert "The deadline must come after the start." in _error_next_to(response, "id_deadline")
    assert "Constraint" not in _page(response)
    assert 'href="#id_deadline"' in _page(response)  # the summary links to the field
    assert _state() == before


def test_a_fractional_number_of_participants_shows_the_services_error_next_to_the_target(admin_client):
    before = _state()

    response = admin_client.post("/manage/challenges/new/", _challenge_data(goal_target="12.5"))

    assert "A number of participants is a whole number." in _error_next_to(response, "id_goal_target")
    assert _state() == before


def test_duplicate_skill_slots_show_the_error_next_to_the_slots_and_change_nothing(admin_client):
    before = _state()

    response = admin_client.post(
        "/manage/challenges/new/",
        _challenge_data(slots=[("Carpentry", "1", ""), ("carpentry", "2", "")], goal_kind="skills"),
    )

    page = _page(response)
    errors = re.search(r'<ul class="errorlist" id="skill-slots-errors">(.*?)</ul>', page, re.S)
    assert errors
    assert "Each skill appears once" in errors.group(1)
    assert re.search(r'<fieldset id="skill-slots"[^>]*aria-describedby="[^"]*skill-slots-errors', page)
    # The rows typed are kept
    assert 'name="slots-1-skill" value="carpentry"' in page
    assert _state() == before


def test_a_counterpart_without_a_description_shows_the_error_next_to_it_and_changes_nothing(admin_client):
    before = _state()

    response = admin_client.post("/manage/challenges/new/", _challenge_data(counterpart_amount="5000"))

    message = _error_next_to(response, "id_counterpart_description")
    assert "Describe what the organisation commits to." in message
    assert _state() == before


def test_an_empty_submission_shows_the_field_errors_and_changes_nothing(admin_client):
    before = _state()

    response = admin_client.post("/manage/challenges/new/", {})

    assert response.status_code == 200
    assert "This field is required." in _error_next_to(response, "id_title")
    assert "This field is required." in _error_next_to(response, "id_starts_at")
    assert 'role="alert"' in _page(response)
    assert _state() == before


# Editing a draft ------------------------------------------------------------------------------------


def test_the_edit_page_shows_the_draft_with_its_times_in_the_organisations_time_zone(admin_client):
    challenge = _draft(
        title="Bike to work",
        starts_at=dt.datetime(WINTER, 1, 10, 8, 30, tzinfo=UTC),
        deadline=dt.datetime(WINTER, 2, 10, 8, 30, tzinfo=UTC),
    )
    SkillSlot.objects.create(challenge=challenge, skill="Carpentry", count=2)

    response = admin_client.get(f"/manage/challenges/{challenge.pk}/edit/")

    page = _page(response)
    assert response.status_code == 200
    assert 'value="Bike to work"' in page
    assert f'name="starts_at" value="{WINTER}-01-10T09:30"' in page  # Paris, winter time
    assert 'name="slots-0-skill" value="Carpentry"' in page


def test_an_admin_edits_a_draft(admin_client):
    challenge = _draft(title="Bike to work")
    CounterpartFactory.create(challenge=challenge, description="Bike shelters")

    response = admin_client.post(
        f"/manage/challenges/{challenge.pk}/edit/",
        _challenge_data(
            title="Cycle to work", goal_target="250", counterpart_description="Two bike shelters"
        ),
    )

    challenge.refresh_from_db()
    assert response.status_code == 302
    assert challenge.title == "Cycle to work"
    assert challenge.goal_target == Decimal(250)
    assert challenge.counterpart.description == "Two bike shelters"
    assert challenge.status == Status.DRAFT


def test_a_bad_edit_shows_the_error_and_changes_nothing(admin_client):
    challenge = _draft(title="Bike to work")
    before = _state()

    response = admin_client.post(
        f"/manage/challenges/{challenge.pk}/edit/", _challenge_data(title="", deadline="2000-01-01T00:00")
    )

    assert response.status_code == 200
    assert "This field is required." in _error_next_to(response, "id_title")
    assert _state() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_published_challenge_cannot_be_edited(admin_client, method):
    challenge = ChallengeFactory.create(title="Bike to work")
    before = _state()

    response = getattr(admin_client, method)(
        f"/manage/challenges/{challenge.pk}/edit/",
        _challenge_data(title="Changed") if method == "post" else {},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/manage/challenges/{challenge.pk}/"
    followed = admin_client.get(response["Location"])
    assert "Only a draft can be edited" in _page(followed)
    assert _state() == before


# Publishing and cancelling --------------------------------------------------------------------------


def test_publishing_a_draft_opens_it_and_records_the_event(admin_client, admin):
    challenge = _draft()

    response = admin_client.post(f"/manage/challenges/{challenge.pk}/publish/", follow=True)

    challenge.refresh_from_db()
    assert challenge.status == Status.OPEN
    event = challenge.events.get()
    assert (event.from_status, event.to_status, event.actor) == (Status.DRAFT, Status.OPEN, admin)
    assert any("The challenge is open" in message for message in _messages(response))


def test_publishing_an_open_challenge_shows_why_and_changes_nothing(admin_client):
    challenge = ChallengeFactory.create()
    before = _state()

    response = admin_client.post(f"/manage/challenges/{challenge.pk}/publish/", follow=True)

    assert response.status_code == 200
    assert any("Cannot publish a challenge that is open" in message for message in _messages(response))
    assert _state() == before


def test_publishing_a_draft_past_its_deadline_shows_why_and_changes_nothing(admin_client):
    now = timezone.now()
    challenge = _draft(starts_at=now - dt.timedelta(days=10), deadline=now - dt.timedelta(days=1))
    before = _state()

    response = admin_client.post(f"/manage/challenges/{challenge.pk}/publish/", follow=True)

    assert any("The deadline has passed" in message for message in _messages(response))
    assert _state() == before


def test_publishing_is_a_post(admin_client):
    challenge = _draft()

    response = admin_client.get(f"/manage/challenges/{challenge.pk}/publish/")

    assert response.status_code == 405
    challenge.refresh_from_db()
    assert challenge.status == Status.DRAFT


def test_the_cancel_page_asks_for_a_cause(admin_client):
    challenge = ChallengeFactory.create(title="Bike to work")

    response = admin_client.get(f"/manage/challenges/{challenge.pk}/cancel/")

    page = _page(response)
    assert response.status_code == 200
    assert '<label for="id_cause">Why is this challenge cancelled?</label>' in page
    assert 'aria-describedby="id_cause_helptext"' in page


def test_cancelling_without_a_cause_shows_the_error_next_to_the_field_and_changes_nothing(admin_client):
    challenge = ChallengeFactory.create()
    before = _state()

    response = admin_client.post(f"/manage/challenges/{challenge.pk}/cancel/", {"cause": "  "})

    assert response.status_code == 200
    assert "This field is required." in _error_next_to(response, "id_cause")
    assert _state() == before


def test_cancelling_an_open_challenge_records_the_cause_and_voids_the_counterpart(admin_client, admin):
    challenge = ChallengeFactory.create()
    CounterpartFactory.create(challenge=challenge)

    response = admin_client.post(
        f"/manage/challenges/{challenge.pk}/cancel/", {"cause": "The canteen closes for works."}, follow=True
    )

    challenge.refresh_from_db()
    assert challenge.status == Status.CANCELLED
    assert challenge.counterpart.status == Counterpart.Status.VOID
    event = challenge.events.get(subject=ChallengeEvent.Subject.CHALLENGE)
    assert (event.cause, event.actor) == ("The canteen closes for works.", admin)
    assert "The canteen closes for works." in _page(response)  # in the history


def test_cancelling_a_succeeded_challenge_is_refused_with_a_message_and_changes_nothing(admin_client):
    challenge = ChallengeFactory.create(status=Status.SUCCEEDED)
    before = _state()

    response = admin_client.post(
        f"/manage/challenges/{challenge.pk}/cancel/", {"cause": "Changed our minds"}, follow=True
    )

    assert response.status_code == 200
    assert any("Cannot cancel a challenge that is succeeded" in message for message in _messages(response))
    assert _state() == before


def test_the_cancel_page_of_a_finished_challenge_sends_back_to_the_dashboard_with_a_message(admin_client):
    challenge = ChallengeFactory.create(status=Status.FAILED)

    response = admin_client.get(f"/manage/challenges/{challenge.pk}/cancel/", follow=True)

    assert response.redirect_chain == [(f"/manage/challenges/{challenge.pk}/", 302)]
    assert any("Only a draft or an open challenge can be cancelled" in m for m in _messages(response))
