"""The HR / CSR manager pages: challenges (list, create, edit, publish, cancel, dashboard, delivery) and
teams, as an admin, an executive (read only), a participant (403) and someone signed out (sign in).

Every list page and the dashboard issue the same number of queries with 10 rows as with 1,000.
"""

import datetime as dt
import html
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    Metric,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from tenants.models import Organization
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory, coming_year_of

pytestmark = pytest.mark.django_db

# Dates within the coming year: one in summer time (June, July), one in winter time (January).
SUMMER = coming_year_of(6, 1)
WINTER = coming_year_of(1, 10)

Status, GoalKind = Challenge.Status, Challenge.GoalKind
UTC = dt.UTC

# Queries of each page, whatever the number of rows. Seven are the same on every page: the host's
# organisation (SET search_path, its domain, SET search_path), the session, the user and their
# permissions (their own, their groups'). Then the page's own reads:
# - the challenge list: a count, the page of challenges (with metric and counterpart), their skill slots;
# - the team list: a count, the page of teams (with captain and member count);
# - the dashboard: the challenge (with metric and counterpart), its skill slots, its events (with
#   actors), then for the standings the teams with member counts and the pledges per team, and for a
#   quantity goal the contributions per team.
CHALLENGE_LIST_QUERIES = 7 + 3
TEAM_LIST_QUERIES = 7 + 2
DASHBOARD_QUERIES = 7 + 5
DASHBOARD_QUANTITY_QUERIES = 7 + 6


# Given: people and the state of things ------------------------------------------------------------


@pytest.fixture
def admin(in_org_a: Organization) -> User:
    return UserFactory.create(email="hr@alpha.test", display_name="Harriet HR", role=ORG_ADMIN)


@pytest.fixture
def admin_client(client_a: Client, admin: User) -> Client:
    client_a.force_login(admin)
    return client_a


@pytest.fixture
def executive_client(client_a: Client, in_org_a: Organization) -> Client:
    client_a.force_login(UserFactory.create(email="ceo@alpha.test", role=EXECUTIVE))
    return client_a


@pytest.fixture
def participant_client(client_a: Client, in_org_a: Organization) -> Client:
    client_a.force_login(UserFactory.create(email="pat@alpha.test", role=PARTICIPANT))
    return client_a


def _draft(**fields: Any) -> Challenge:
    return ChallengeFactory.create(status=Status.DRAFT, **fields)


def _km() -> Metric:
    return Metric.objects.get(key="km-cycled")


def _state() -> dict[str, Any]:
    """Everything a manager page may write, to assert that a refused or bad request wrote nothing."""
    return {
        "challenges": list(
            Challenge.objects.order_by("pk").values_list(
                "pk", "title", "status", "starts_at", "deadline", "goal_kind", "goal_target", "metric"
            )
        ),
        "slots": list(SkillSlot.objects.order_by("pk").values_list("pk", "skill", "count", "hours")),
        "counterparts": list(
            Counterpart.objects.order_by("pk").values_list("pk", "description", "status", "proof_text")
        ),
        "events": ChallengeEvent.objects.count(),
        "teams": list(Team.objects.order_by("pk").values_list("pk", "name", "kind", "captain")),
        "memberships": TeamMembership.objects.count(),
    }


def _challenge_data(slots: Sequence[tuple[str, str, str]] = (), **overrides: str) -> dict[str, str]:
    """What the new-challenge form posts: a participants challenge, and up to three skill rows."""
    data = {
        "template_key": "",
        "title": "One organic product a week",
        "description": "",
        "action": "I buy one organic product a week",
        "category": "consumption",
        "starts_at": f"{SUMMER}-06-01T09:00",
        "deadline": f"{SUMMER}-07-01T18:00",
        "goal_kind": "participants",
        "goal_target": "100",
        "metric": "",
        "counterpart_description": "",
        "counterpart_amount": "",
        "counterpart_currency": "",
        "counterpart_due_date": "",
        "slots-TOTAL_FORMS": "3",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "50",
    }
    rows = list(slots) + [("", "", "")] * (3 - len(slots))
    for index, (skill, count, hours) in enumerate(rows):
        data.update(
            {f"slots-{index}-skill": skill, f"slots-{index}-count": count, f"slots-{index}-hours": hours}
        )
    data.update(overrides)
    return data


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _error_next_to(response: Any, field_id: str) -> str:
    """The error list rendered for a field, which its input names in aria-describedby."""
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    assert errors, f"no error shown next to {field_id}"
    described = re.search(rf'<[^>]*id="{field_id}"[^>]*>', page)
    assert described, f"no input {field_id}"
    assert f"{field_id}_error" in described.group(0), f"{field_id} does not point to its error"
    assert 'aria-invalid="true"' in described.group(0)
    return html.unescape(errors.group(1))


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


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


# The dashboard --------------------------------------------------------------------------------------


def _member(team: Team, **fields: Any) -> User:
    user = UserFactory.create(**fields)
    TeamMembership.objects.create(user=user, team=team)
    return user


def test_the_dashboard_shows_progress_forecast_standings_counterpart_and_history(admin_client, admin):
    # Given an open quantity challenge, halfway through its time and beyond half its goal,
    # a team of 2 that logged 30 km and a team of 10 that logged 100 km
    now = timezone.now()
    challenge = ChallengeFactory.create(
        title="10,000 km by bike",
        goal_kind=GoalKind.QUANTITY,
        metric=_km(),
        goal_target=Decimal(100),
        quantity_total=Decimal(130),
        starts_at=now - dt.timedelta(days=10),
        deadline=now + dt.timedelta(days=10),
    )
    CounterpartFactory.create(challenge=challenge, description="Bike shelters", amount=Decimal(5000))
    small, big = TeamFactory.create(name="Small team"), TeamFactory.create(name="Big team")
    small_members = [_member(small) for _ in range(2)]
    for _ in range(10):
        _member(big)
    Contribution.objects.create(
        challenge=challenge, user=small_members[0], team=small, day=now.date(), amount=Decimal(30)
    )
    Contribution.objects.create(challenge=challenge, team=big, day=now.date(), amount=Decimal(100))
    ChallengeEvent.objects.create(
        challenge=challenge, from_status="draft", to_status="open", actor=admin, cause="Published"
    )

    # When the admin opens the dashboard
    response = admin_client.get(f"/manage/challenges/{challenge.pk}/")

    # Then it shows an accessible progress bar and its text, the forecast, the teams per head
    # (the small team first: 15 km a head against 10), the counterpart and the history
    page = _page(response)
    assert response.status_code == 200
    assert '<progress max="100" value="100" aria-label="Progress towards the goal">' in page
    assert "130 of 100 km (100 %)" in page
    assert "On track" in page
    assert page.index("Small team") < page.index("Big team")
    assert re.search(
        r"Small team</th>\s*<td[^>]*>2</td>\s*<td[^>]*>0</td>\s*<td[^>]*>30</td>\s*<td[^>]*>15", page
    )
    assert "Bike shelters" in page
    assert "Promised" in page
    assert "Harriet HR" in page
    assert "Published" in page
    # And its write controls
    assert f'action="/manage/challenges/{challenge.pk}/publish/"' not in page  # open: nothing to publish
    assert f'href="/manage/challenges/{challenge.pk}/cancel/"' in page
    assert "Record the delivery" not in page  # not due yet


def test_the_dashboard_says_at_risk_and_the_pace_needed(admin_client):
    # Given 10 of 1,000 participants after 10 days, 10 days before the deadline
    now = timezone.now()
    challenge = ChallengeFactory.create(
        goal_target=Decimal(1000),
        pledge_count=10,
        starts_at=now - dt.timedelta(days=10),
        deadline=now + dt.timedelta(days=10, hours=1),
    )

    response = admin_client.get(f"/manage/challenges/{challenge.pk}/")

    # Then 99 more people a day are needed (990 in 10 days and an hour, rounded up to whole people)
    page = _page(response)
    assert "At risk" in page
    assert "99 more participants per day needed" in page


def test_the_dashboard_of_a_draft_offers_edit_publish_and_cancel(admin_client):
    challenge = _draft()

    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    assert f'href="/manage/challenges/{challenge.pk}/edit/"' in page
    assert f'action="/manage/challenges/{challenge.pk}/publish/"' in page
    assert f'href="/manage/challenges/{challenge.pk}/cancel/"' in page


def test_the_dashboard_of_a_skills_challenge_shows_its_slots(admin_client):
    challenge = ChallengeFactory.create(goal_kind=GoalKind.SKILLS, goal_target=None)
    SkillSlot.objects.create(challenge=challenge, skill="Carpentry", count=2, filled_count=1)
    SkillSlot.objects.create(challenge=challenge, skill="Accounting", count=1, filled_count=1)

    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    assert "2 of 3 places (66 %)" in page
    assert re.search(r"Carpentry</th>\s*<td>1 / 2</td>", page)


def test_the_dashboard_of_a_finished_challenge_offers_no_transition(admin_client):
    challenge = ChallengeFactory.create(status=Status.SUCCEEDED)

    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    for action in ("edit", "publish", "cancel"):
        assert f"/manage/challenges/{challenge.pk}/{action}/" not in page
    assert "Goal reached" in page


def test_an_unknown_challenge_is_404(admin_client):
    assert admin_client.get("/manage/challenges/999999/").status_code == 404


# Recording the counterpart's delivery ---------------------------------------------------------------


@pytest.fixture
def succeeded() -> Challenge:
    challenge = ChallengeFactory.create(status=Status.SUCCEEDED, succeeded_at=timezone.now())
    CounterpartFactory.create(challenge=challenge, status=Counterpart.Status.DUE)
    return challenge


def test_the_dashboard_offers_the_delivery_form_when_the_counterpart_is_due(admin_client, succeeded):
    page = _page(admin_client.get(f"/manage/challenges/{succeeded.pk}/"))

    assert 'enctype="multipart/form-data"' in page
    assert f'action="/manage/challenges/{succeeded.pk}/deliver/"' in page
    assert '<label for="id_proof_file">' in page


def test_an_admin_records_the_delivery_with_a_file(admin_client, admin, succeeded, settings, tmp_path):
    # Given files stored in a temporary folder
    settings.MEDIA_ROOT = str(tmp_path)
    settings.MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
    proof = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 shelters", content_type="application/pdf")

    # When the admin records the delivery with a text, a link and a file
    response = admin_client.post(
        f"/manage/challenges/{succeeded.pk}/deliver/",
        {"proof_text": "Shelters built", "proof_url": "https://alpha.test/shelters", "proof_file": proof},
        follow=True,
    )

    # Then the counterpart is delivered with its proof, in the history, and the page says so
    counterpart = Counterpart.objects.get(challenge=succeeded)
    assert counterpart.status == Counterpart.Status.DELIVERED
    assert counterpart.proof_text == "Shelters built"
    assert (counterpart.proof_file.name or "").startswith("proofs/receipt")
    assert (tmp_path / "alpha" / counterpart.proof_file.name).read_bytes() == b"%PDF-1.4 shelters"
    event = succeeded.events.get(subject=ChallengeEvent.Subject.COUNTERPART)
    assert (event.to_status, event.actor) == (Counterpart.Status.DELIVERED, admin)
    page = _page(response)
    assert "The delivery is recorded" in page
    assert "Shelters built" in page
    assert 'enctype="multipart/form-data"' not in page


def test_a_delivery_without_proof_shows_the_error_next_to_the_field_and_changes_nothing(
    admin_client, succeeded
):
    before = _state()

    response = admin_client.post(f"/manage/challenges/{succeeded.pk}/deliver/", {"proof_text": " "})

    assert response.status_code == 200
    assert "Give a proof of delivery" in _error_next_to(response, "id_proof_text")
    assert _state() == before


def test_a_bad_proof_link_shows_the_error_next_to_it_and_changes_nothing(admin_client, succeeded):
    before = _state()

    response = admin_client.post(f"/manage/challenges/{succeeded.pk}/deliver/", {"proof_url": "not a link"})

    assert "Enter a valid URL." in _error_next_to(response, "id_proof_url")
    assert _state() == before


def test_delivering_a_counterpart_that_is_not_due_is_refused_with_a_message(admin_client):
    challenge = ChallengeFactory.create()
    CounterpartFactory.create(challenge=challenge)
    before = _state()

    response = admin_client.post(
        f"/manage/challenges/{challenge.pk}/deliver/", {"proof_text": "Done"}, follow=True
    )

    assert response.status_code == 200
    assert any("Cannot deliver a counterpart that is promised" in m for m in _messages(response))
    assert _state() == before


# Teams ----------------------------------------------------------------------------------------------


def test_the_team_list_shows_each_team_with_its_member_count_and_captain(admin_client):
    team = TeamFactory.create(name="Logistics", kind=Team.Kind.SITE)
    captain = _member(team, display_name="Carla Captain")
    _member(team)
    team.captain = captain
    team.save()
    TeamFactory.create(name="Finance")

    response = admin_client.get("/manage/teams/")

    page = _page(response)
    assert response.status_code == 200
    assert re.search(r"Logistics</th>\s*<td>Site</td>\s*<td>Carla Captain</td>\s*<td[^>]*>2</td>", page)
    assert re.search(r"Finance</th>\s*<td>Department</td>\s*<td>—</td>\s*<td[^>]*>0</td>", page)
    assert 'href="/manage/teams/new/"' in page


def test_an_admin_creates_a_team_with_a_captain(admin_client):
    captain = UserFactory.create(email="carla@alpha.test")

    response = admin_client.post(
        "/manage/teams/new/", {"name": "Logistics", "kind": "site", "captain_email": "Carla@Alpha.test"}
    )

    assert response.status_code == 302
    team = Team.objects.get()
    assert (team.name, team.kind, team.captain) == ("Logistics", "site", captain)


def test_a_duplicate_team_name_shows_the_error_next_to_the_name_and_changes_nothing(admin_client):
    TeamFactory.create(name="Logistics")
    before = _state()

    response = admin_client.post("/manage/teams/new/", {"name": "Logistics", "kind": "site"})

    assert response.status_code == 200
    assert "already exists" in _error_next_to(response, "id_name")
    assert _state() == before


def test_an_unknown_captain_shows_the_error_next_to_the_field_and_changes_nothing(admin_client):
    before = _state()

    response = admin_client.post(
        "/manage/teams/new/", {"name": "Logistics", "kind": "site", "captain_email": "nobody@alpha.test"}
    )

    assert "No one in the organisation has this e-mail address." in _error_next_to(
        response, "id_captain_email"
    )
    assert _state() == before


def test_an_admin_renames_a_team_and_changes_its_kind_and_captain(admin_client):
    team = TeamFactory.create(name="Logistics")
    captain = UserFactory.create(email="carla@alpha.test")

    form = _page(admin_client.get(f"/manage/teams/{team.pk}/edit/"))
    response = admin_client.post(
        f"/manage/teams/{team.pk}/edit/",
        {"name": "Supply chain", "kind": "site", "captain_email": "carla@alpha.test"},
    )

    assert 'value="Logistics"' in form
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.kind, team.captain) == ("Supply chain", "site", captain)


def test_a_bad_rename_keeps_the_saved_name_in_the_heading_and_changes_nothing(admin_client):
    team = TeamFactory.create(name="Logistics")
    TeamFactory.create(name="Finance")
    before = _state()

    response = admin_client.post(f"/manage/teams/{team.pk}/edit/", {"name": "Finance", "kind": "site"})

    assert "already exists" in _error_next_to(response, "id_name")
    assert "Edit the team “Logistics”" in _page(response)
    assert _state() == before


def test_an_admin_deletes_an_empty_team(admin_client):
    team = TeamFactory.create(name="Logistics")

    response = admin_client.post(f"/manage/teams/{team.pk}/delete/", follow=True)

    assert not Team.objects.filter(pk=team.pk).exists()
    assert any("deleted" in message for message in _messages(response))


def test_deleting_a_team_with_members_is_refused_with_a_message_and_changes_nothing(admin_client):
    team = TeamFactory.create(name="Logistics")
    _member(team)
    before = _state()

    response = admin_client.post(f"/manage/teams/{team.pk}/delete/", follow=True)

    assert response.status_code == 200
    assert any("still has members" in message for message in _messages(response))
    assert _state() == before


# Who may do what ------------------------------------------------------------------------------------


@pytest.fixture
def world(in_org_a: Organization) -> dict[str, int]:
    """A draft, an open challenge, a succeeded one with a due counterpart and an empty team."""
    draft = _draft(title="A draft")
    open_challenge = ChallengeFactory.create(title="An open one")
    CounterpartFactory.create(challenge=open_challenge)
    done = ChallengeFactory.create(title="A success", status=Status.SUCCEEDED)
    CounterpartFactory.create(challenge=done, status=Counterpart.Status.DUE)
    team = TeamFactory.create(name="Logistics")
    return {"draft": draft.pk, "open": open_challenge.pk, "done": done.pk, "team": team.pk}


READ_PAGES = [
    "/manage/challenges/",
    "/manage/challenges/?status=open",
    "/manage/challenges/{draft}/",
    "/manage/challenges/{done}/",
    "/manage/teams/",
]
WRITE_PAGES = [
    "/manage/challenges/new/",
    "/manage/challenges/new/?template=bike-to-work",
    "/manage/challenges/{draft}/edit/",
    "/manage/challenges/{open}/cancel/",
    "/manage/teams/new/",
    "/manage/teams/{team}/edit/",
]
WRITES = [
    ("/manage/challenges/new/", _challenge_data()),
    ("/manage/challenges/{draft}/edit/", _challenge_data(title="Changed")),
    ("/manage/challenges/{draft}/publish/", {}),
    ("/manage/challenges/{open}/cancel/", {"cause": "Because"}),
    ("/manage/challenges/{done}/deliver/", {"proof_text": "Done"}),
    ("/manage/teams/new/", {"name": "Finance", "kind": "site"}),
    ("/manage/teams/{team}/edit/", {"name": "Renamed", "kind": "site"}),
    ("/manage/teams/{team}/delete/", {}),
]


def test_an_executive_reads_lists_and_dashboards_without_any_write_control(executive_client, world):
    for path in READ_PAGES:
        response = executive_client.get(path.format(**world))

        assert response.status_code == 200, path
        page = _page(response)
        assert '<form method="post"' not in page.split('<main id="main">')[1], path
        for marker in ("/edit/", "/publish/", "/cancel/", "/deliver/", "/delete/", "/new/"):
            assert marker not in page, (path, marker)


def test_an_executive_gets_403_on_every_write_page_and_action_and_nothing_changes(executive_client, world):
    before = _state()

    for path in WRITE_PAGES:
        assert executive_client.get(path.format(**world)).status_code == 403, path
    for path, data in WRITES:
        assert executive_client.post(path.format(**world), data).status_code == 403, path

    assert _state() == before


def test_a_participant_gets_403_everywhere_and_nothing_changes(participant_client, world):
    before = _state()

    for path in READ_PAGES + WRITE_PAGES:
        assert participant_client.get(path.format(**world)).status_code == 403, path
    for path, data in WRITES:
        assert participant_client.post(path.format(**world), data).status_code == 403, path

    assert _state() == before


def test_someone_signed_out_is_sent_to_sign_in_and_nothing_changes(client_a, world):
    before = _state()

    for path in READ_PAGES + WRITE_PAGES:
        response = client_a.get(path.format(**world))
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/sign-in/?next=/manage/"), path
    for path, data in WRITES:
        response = client_a.post(path.format(**world), data)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/sign-in/"), path

    assert _state() == before


def test_an_admin_of_another_organisation_finds_nothing_of_this_one(org_a, org_b, client_b, world):
    # Given Beta's admin, signed in on Beta, with Alpha's ids
    with tenant_context(org_b):
        client_b.force_login(UserFactory.create(email="rh@beta.test", role=ORG_ADMIN))
    before = _state()

    # When they open or act on Alpha's challenges and team through Beta's site
    with tenant_context(org_b):
        for path in [
            "/manage/challenges/{draft}/",
            "/manage/challenges/{draft}/edit/",
            "/manage/teams/{team}/edit/",
        ]:
            assert client_b.get(path.format(**world)).status_code == 404, path
        for path, data in WRITES:
            if "{" in path:
                assert client_b.post(path.format(**world), data).status_code == 404, path
        listing = _page(client_b.get("/manage/challenges/"))

    # Then there is nothing to see and nothing changed
    assert "A draft" not in listing
    with tenant_context(org_a):
        assert _state() == before


def test_every_manager_page_answers_an_empty_or_malformed_request_without_error(admin_client, world):
    # Given an admin, and every page and action with missing, wrong or unexpected fields
    before = _state()
    paths = READ_PAGES + WRITE_PAGES + [path for path, _ in WRITES]
    junk = {"slots-TOTAL_FORMS": "x", "goal_kind": "nonsense", "metric": "999999", "starts_at": "yesterday"}

    for path in paths:
        for method, data in [("get", {}), ("post", {}), ("post", junk)]:
            # When they send it
            response = getattr(admin_client, method)(path.format(**world), data)

            # Then they get a page, a refusal or a redirect, never an error
            assert response.status_code in (200, 302, 404, 405), (method, path, data)
    # And no form wrote anything (publishing and deleting an empty team need no field: they happened)
    after = _state()
    assert [row[:2] for row in after["challenges"]] == [row[:2] for row in before["challenges"]]
    assert after["counterparts"] == before["counterparts"]
    assert after["slots"] == before["slots"]


def test_the_header_links_to_the_challenges_for_dashboard_readers_only(client_a, in_org_a):
    link = 'href="/manage/challenges/"'
    for role, shown in [(ORG_ADMIN, True), (EXECUTIVE, True), (PARTICIPANT, False)]:
        client_a.force_login(UserFactory.create(role=role))

        page = _page(client_a.get("/"))

        assert (link in page) is shown, role
    client_a.logout()
    assert link not in _page(client_a.get("/"))


# Queries: the same with 10 rows as with 1,000 -------------------------------------------------------


def _users(count: int, prefix: str = "person") -> list[User]:
    return User.objects.bulk_create(User(email=f"{prefix}{i}@bulk.test", password="!") for i in range(count))


def _teams_with_members(count: int) -> list[Team]:
    captains = _users(count, prefix="member")
    teams = Team.objects.bulk_create(
        Team(name=f"Team {i:04}", captain=captains[i] if i % 2 else None) for i in range(count)
    )
    TeamMembership.objects.bulk_create(
        TeamMembership(user=user, team=teams[i % len(teams)]) for i, user in enumerate(captains)
    )
    return teams


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("query", ["", "?status=open", "?page=2"])
def test_the_challenge_list_issues_the_same_queries_for_10_or_1000_challenges(
    admin_client, rows, query, django_assert_num_queries
):
    # Given challenges of every kind, with skill slots and counterparts
    now, metric = timezone.now(), _km()
    kinds = [GoalKind.PARTICIPANTS, GoalKind.QUANTITY, GoalKind.SKILLS]
    challenges = Challenge.objects.bulk_create(
        Challenge(
            title=f"Challenge {i}",
            category=Challenge.Category.ENVIRONMENT,
            status=Status.OPEN if i % 2 else Status.DRAFT,
            goal_kind=kinds[i % 3],
            goal_target=None if kinds[i % 3] == GoalKind.SKILLS else Decimal(100),
            metric=metric if kinds[i % 3] == GoalKind.QUANTITY else None,
            starts_at=now - dt.timedelta(days=1),
            deadline=now + dt.timedelta(days=30),
        )
        for i in range(rows)
    )
    SkillSlot.objects.bulk_create(
        SkillSlot(challenge=challenge, skill=skill, count=2)
        for challenge in challenges
        if challenge.goal_kind == GoalKind.SKILLS
        for skill in ("Design", "Accounting")
    )
    Counterpart.objects.bulk_create(
        Counterpart(challenge=challenge, description="A promise") for challenge in challenges[::2]
    )

    # When the admin opens the list (page 2 of 10 rows falls back to the last page)
    with django_assert_num_queries(CHALLENGE_LIST_QUERIES):
        response = admin_client.get(f"/manage/challenges/{query}")

    # Then the page is there, in the same number of queries
    assert response.status_code == 200
    assert 0 < len(response.context["rows"]) <= 50


@pytest.mark.parametrize("rows", [10, 1000])
def test_the_team_list_issues_the_same_queries_for_10_or_1000_teams(
    admin_client, rows, django_assert_num_queries
):
    _teams_with_members(rows)

    with django_assert_num_queries(TEAM_LIST_QUERIES):
        response = admin_client.get("/manage/teams/")

    assert response.status_code == 200
    assert len(response.context["rows"]) == min(rows, 50)


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize(
    ("goal_kind", "status", "counterpart_status", "queries"),
    [
        (GoalKind.QUANTITY, Status.OPEN, Counterpart.Status.PROMISED, DASHBOARD_QUANTITY_QUERIES),
        (GoalKind.QUANTITY, Status.SUCCEEDED, Counterpart.Status.DUE, DASHBOARD_QUANTITY_QUERIES),
        (GoalKind.PARTICIPANTS, Status.OPEN, Counterpart.Status.PROMISED, DASHBOARD_QUERIES),
        (GoalKind.SKILLS, Status.OPEN, Counterpart.Status.PROMISED, DASHBOARD_QUERIES),
    ],
)
def test_the_dashboard_issues_the_same_queries_for_10_or_1000_pledges_contributions_teams_and_events(
    admin_client, admin, rows, goal_kind, status, counterpart_status, queries, django_assert_num_queries
):
    # Given a challenge with `rows` teams, pledges, contributions, events (and skill slots)
    now = timezone.now()
    challenge = ChallengeFactory.create(
        goal_kind=goal_kind,
        status=status,
        metric=_km() if goal_kind == GoalKind.QUANTITY else None,
        goal_target=None if goal_kind == GoalKind.SKILLS else Decimal(100_000),
        starts_at=now - dt.timedelta(days=5),
    )
    CounterpartFactory.create(challenge=challenge, status=counterpart_status)
    teams = _teams_with_members(rows)
    users = _users(rows)
    slots = (
        SkillSlot.objects.bulk_create(
            SkillSlot(challenge=challenge, skill=f"Skill {i}", count=3) for i in range(rows)
        )
        if goal_kind == GoalKind.SKILLS
        else []
    )
    Pledge.objects.bulk_create(
        Pledge(challenge=challenge, user=user, team=teams[i], skill_slot=slots[i] if slots else None)
        for i, user in enumerate(users)
    )
    if goal_kind == GoalKind.QUANTITY:
        Contribution.objects.bulk_create(
            Contribution(challenge=challenge, user=user, team=teams[i], day=now.date(), amount=Decimal(5))
            for i, user in enumerate(users)
        )
    ChallengeEvent.objects.bulk_create(
        ChallengeEvent(challenge=challenge, from_status="draft", to_status="open", actor=admin, cause=f"#{i}")
        for i in range(rows)
    )

    # When the admin opens the dashboard
    with django_assert_num_queries(queries):
        response = admin_client.get(f"/manage/challenges/{challenge.pk}/")

    # Then every row is shown, in the same number of queries
    assert response.status_code == 200
    assert len(response.context["standings"]) == rows
    assert len(response.context["events"]) == rows
