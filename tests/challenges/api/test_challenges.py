"""The API under /api/v1/: who may do what, what each endpoint answers, how errors look, and how many
queries each list costs (the same with 10 rows as with 1,000)."""

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import ApiToken, User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from accounts.tokens import api_token_hash
from challenges import services
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    ImpactFactor,
    Metric,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
Status = Challenge.Status


def api_client(user: User | None = None, host: str = f"alpha.{settings.BASE_DOMAIN}") -> Client:
    """A client on an organisation's host, signed in with a session when given a person (call it in
    that organisation's schema)."""
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, path: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
    return client.post(path, data or {}, content_type="application/json", **extra)


def patch(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.patch(path, data, content_type="application/json")


@pytest.fixture
def admin(in_org_a: Any) -> User:
    return UserFactory.create(email="admin.api@alpha.test", display_name="Ada Admin", role=ORG_ADMIN)


@pytest.fixture
def executive(in_org_a: Any) -> User:
    return UserFactory.create(email="exec.api@alpha.test", display_name="Eve Exec", role=EXECUTIVE)


@pytest.fixture
def participant(in_org_a: Any) -> User:
    return UserFactory.create(email="pat.api@alpha.test", display_name="Pat Part", role=PARTICIPANT)


@pytest.fixture
def other_participant(in_org_a: Any) -> User:
    return UserFactory.create(email="olga.api@alpha.test", display_name="Olga Other", role=PARTICIPANT)


def _quantity_challenge(**fields: Any) -> Challenge:
    metric = Metric.objects.get(key="km-cycled")
    return ChallengeFactory.create(
        goal_kind=Challenge.GoalKind.QUANTITY, goal_target=Decimal(100), metric=metric, **fields
    )


def _draft_fields(**overrides: Any) -> dict[str, Any]:
    now = timezone.now()
    fields = {
        "title": "Cycle to work",
        "category": "environment",
        "starts_at": (now - dt.timedelta(hours=1)).isoformat(),
        "deadline": (now + dt.timedelta(days=20)).isoformat(),
        "goal_kind": "participants",
        "goal_target": "3",
    }
    return {**fields, **overrides}


# Authentication and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/teams/", "/metrics/", "/challenges/", "/pledges/", "/contributions/", "/tokens/"]
)
def test_without_credentials_every_list_answers_401_in_json(in_org_a, path):
    response = api_client().get(V1 + path)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_body_that_is_not_json_gets_a_message_in_the_same_shape_as_other_400s(admin):
    response = api_client(admin).post(f"{V1}/teams/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert response.json()["non_field_errors"][0].startswith("JSON parse error")
    assert not Team.objects.exists()


def test_a_session_of_organisation_a_gets_nothing_from_organisation_b(org_a, org_b, admin):
    # given A's admin signed in on A, with a team in A
    TeamFactory.create(name="Alpha secret team")
    client_a = api_client(admin)
    assert client_a.get(f"{V1}/teams/").status_code == 200
    # when the same session cookie is sent to B's host
    client_b = Client(HTTP_HOST=f"beta.{settings.BASE_DOMAIN}")
    client_b.cookies["sessionid"] = client_a.cookies["sessionid"].value
    listed = client_b.get(f"{V1}/teams/")
    created = post(client_b, f"{V1}/teams/", {"name": "Planted by A"})

    # then B refuses it and nothing of A shows or changes in B
    assert listed.status_code == 401
    assert created.status_code == 401
    assert b"Alpha secret team" not in listed.content
    with tenant_context(org_b):
        assert not Team.objects.filter(name="Planted by A").exists()


# Teams ------------------------------------------------------------------------------------------


def test_a_participant_lists_teams_with_member_counts_but_never_an_e_mail(participant, other_participant):
    # given a team captained by someone else, with two members
    team = TeamFactory.create(name="Logistics", captain=other_participant)
    services.team_join(actor=participant, team=team)
    services.team_join(actor=other_participant, team=team)
    TeamFactory.create(name="Accounting")

    # when a participant lists the teams
    response = api_client(participant).get(f"{V1}/teams/")

    # then they see the member counts, never the captain's e-mail, and her name only once she shows it
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(t["name"], t["member_count"]) for t in body["results"]] == [("Accounting", 0), ("Logistics", 2)]
    assert body["results"][1]["captain"] == {"id": other_participant.pk, "display_name": None, "email": None}
    assert b"olga.api@alpha.test" not in response.content
    assert b"Olga Other" not in response.content
    other_participant.show_name = True
    other_participant.save(update_fields=["show_name"])
    shown = api_client(participant).get(f"{V1}/teams/").json()["results"][1]["captain"]
    assert shown["display_name"] == "Olga Other"


def test_an_admin_sees_the_captain_e_mail(admin, participant):
    TeamFactory.create(name="Logistics", captain=participant)

    response = api_client(admin).get(f"{V1}/teams/")

    assert response.json()["results"][0]["captain"]["email"] == "pat.api@alpha.test"


def test_an_admin_creates_renames_and_deletes_a_team(admin, participant):
    client = api_client(admin)

    created = post(
        client, f"{V1}/teams/", {"name": " Night shift ", "kind": "site", "captain": participant.pk}
    )
    assert created.status_code == 201, created.content
    team_id = created.json()["id"]
    assert created.json()["name"] == "Night shift"
    assert created.json()["member_count"] == 0

    renamed = patch(client, f"{V1}/teams/{team_id}/", {"name": "Day shift"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Day shift"
    assert renamed.json()["kind"] == "site"
    assert renamed.json()["captain"]["id"] == participant.pk

    deleted = client.delete(f"{V1}/teams/{team_id}/")
    assert deleted.status_code == 204
    assert not Team.objects.filter(pk=team_id).exists()


def test_a_team_name_taken_is_refused_with_a_message_on_the_field(admin):
    TeamFactory.create(name="Logistics")

    response = post(api_client(admin), f"{V1}/teams/", {"name": "Logistics"})

    assert response.status_code == 400
    assert response.json() == {"name": ["Team with this Name already exists."]}
    assert Team.objects.filter(name="Logistics").count() == 1


def test_deleting_a_team_that_has_members_is_refused_and_the_team_stays(admin, participant):
    team = TeamFactory.create(name="Logistics")
    services.team_join(actor=participant, team=team)

    response = api_client(admin).delete(f"{V1}/teams/{team.pk}/")

    assert response.status_code == 400
    assert response.json() == {"team": ["This team still has members: move them to another team first."]}
    assert Team.objects.filter(pk=team.pk).exists()


@pytest.mark.parametrize("role", [PARTICIPANT, EXECUTIVE])
def test_only_an_admin_writes_teams(in_org_a, role):
    # given a team and someone who is not an admin
    person = UserFactory.create(role=role)
    team = TeamFactory.create(name="Logistics")
    client = api_client(person)

    # when they try to create, rename and delete
    responses = [
        post(client, f"{V1}/teams/", {"name": "Mine"}),
        patch(client, f"{V1}/teams/{team.pk}/", {"name": "Renamed"}),
        client.delete(f"{V1}/teams/{team.pk}/"),
    ]

    # then each is refused, and nothing changed
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert responses[0].json() == {"detail": "Only an organisation admin can do this."}
    assert list(Team.objects.values_list("name", flat=True)) == ["Logistics"]


def test_a_team_of_another_organisation_is_not_found(org_b, admin):
    with tenant_context(org_b):
        other = TeamFactory.create(name="Beta team")

    response = api_client(admin).get(f"{V1}/teams/{other.pk}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No Team matches the given query."}


# Metrics ----------------------------------------------------------------------------------------


def test_an_admin_creates_a_custom_metric_with_its_factors(admin):
    response = post(
        api_client(admin),
        f"{V1}/metrics/",
        {
            "name_en": "Kilometres carpooled",
            "unit_en": "km",
            "daily_cap": "80",
            "baseline_factor": "transport_car_thermal",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"] == "kilometres-carpooled"
    assert body["name_fr"] == "Kilometres carpooled"
    assert body["unit_fr"] == "km"
    assert body["daily_cap"] == "80.00"
    assert body["is_builtin"] is False
    assert body["baseline_factor"]["key"] == "transport_car_thermal"
    assert body["action_factor"] is None
    assert Decimal(body["kg_co2e_avoided_per_unit"]) > 0


def test_a_metric_with_an_action_factor_and_no_baseline_is_refused(admin):
    before = Metric.objects.count()

    response = post(
        api_client(admin),
        f"{V1}/metrics/",
        {"name_en": "Bike km", "unit_en": "km", "daily_cap": "80", "action_factor": "transport_bike"},
    )

    assert response.status_code == 400
    assert response.json() == {"baseline_factor": ["An action factor needs the baseline it replaces."]}
    assert Metric.objects.count() == before


def test_a_participant_reads_metrics_but_cannot_create_one(participant):
    before = Metric.objects.count()
    client = api_client(participant)

    listed = client.get(f"{V1}/metrics/")
    created = post(client, f"{V1}/metrics/", {"name_en": "Mine", "unit_en": "km", "daily_cap": "1"})

    assert listed.status_code == 200
    assert listed.json()["count"] == before
    assert created.status_code == 403
    assert Metric.objects.count() == before


# Challenges -------------------------------------------------------------------------------------


def test_the_challenge_list_shows_status_and_progress_and_filters_by_status(participant):
    # given an open participants challenge with 3 pledges out of 4, a succeeded one and a draft
    open_one = ChallengeFactory.create(title="Organic week", goal_target=Decimal(4), pledge_count=3)
    ChallengeFactory.create(title="Done", status=Status.SUCCEEDED, goal_target=Decimal(2), pledge_count=2)
    ChallengeFactory.create(title="Secret draft", status=Status.DRAFT)
    client = api_client(participant)

    # when a participant lists them, then filters the open ones
    everything = client.get(f"{V1}/challenges/")
    only_open = client.get(f"{V1}/challenges/", {"status": "open"})

    # then drafts stay hidden and each challenge carries its progress
    assert {c["title"] for c in everything.json()["results"]} == {"Organic week", "Done"}
    assert only_open.json()["count"] == 1
    listed = only_open.json()["results"][0]
    assert listed["id"] == open_one.pk
    assert listed["status"] == "open"
    assert listed["progress"] == {"current": "3.00", "target": "4.00", "percent": 75, "reached": False}


def test_an_unknown_status_filter_is_refused_with_a_message(participant):
    response = api_client(participant).get(f"{V1}/challenges/", {"status": "paused"})

    assert response.status_code == 400
    assert response.json() == {"status": ['"paused" is not a valid choice.']}


def test_admins_and_executives_see_drafts_participants_do_not(admin, executive, participant):
    draft = ChallengeFactory.create(title="Secret draft", status=Status.DRAFT)

    seen = {
        person.email: api_client(person).get(f"{V1}/challenges/{draft.pk}/").status_code
        for person in (admin, executive, participant)
    }

    assert seen == {"admin.api@alpha.test": 200, "exec.api@alpha.test": 200, "pat.api@alpha.test": 404}


def test_an_admin_creates_a_skills_challenge_with_slots_and_a_counterpart(admin):
    response = post(
        api_client(admin),
        f"{V1}/challenges/",
        _draft_fields(
            title="New playground",
            category="community",
            goal_kind="skills",
            goal_target=None,
            skill_slots=[{"skill": "Designer", "count": 2}, {"skill": "Translation", "hours": "40"}],
            counterpart={"description": "The city builds it", "amount": "15000", "currency": "eur"},
        ),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    challenge = Challenge.objects.get(pk=body["id"])
    assert challenge.status == Status.DRAFT
    assert challenge.created_by == admin
    assert [(s["skill"], s["count"], s["hours"]) for s in body["skill_slots"]] == [
        ("Designer", 2, None),
        ("Translation", 1, "40.0"),
    ]
    assert body["counterpart"]["currency"] == "EUR"
    assert body["counterpart"]["status"] == "promised"
    assert body["progress"] == {"current": "0.00", "target": "3.00", "percent": 0, "reached": False}
    assert body["forecast"] is None


def test_an_invalid_challenge_gets_a_message_per_field_and_nothing_is_created(admin):
    before = Challenge.objects.count()

    response = post(
        api_client(admin),
        f"{V1}/challenges/",
        _draft_fields(
            goal_kind="quantity",
            deadline=(timezone.now() - dt.timedelta(days=2)).isoformat(),
            counterpart={"description": "x", "currency": "EURO"},
        ),
    )

    assert response.status_code == 400
    assert response.json() == {"counterpart.currency": ["Ensure this field has no more than 3 characters."]}
    response = post(
        api_client(admin),
        f"{V1}/challenges/",
        _draft_fields(goal_kind="quantity", deadline=(timezone.now() - dt.timedelta(days=2)).isoformat()),
    )
    assert response.status_code == 400
    assert response.json()["metric"] == ["A quantity goal needs a metric (km, meals, kg…)."]
    assert response.json()["deadline"] == ["The deadline must come after the start."]
    assert Challenge.objects.count() == before


START_REFUSED = "A challenge starts at most one year before or after today."
DURATION_REFUSED = "A challenge runs at most three years: set an earlier deadline."


def _years(years: float) -> str:
    return (timezone.now() + dt.timedelta(days=365 * years)).isoformat()


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        # In the organisation's time zone (Paris), this moment is past year 9999: DRF refuses it itself.
        ({"deadline": "9999-12-31T23:59:59Z"}, {"deadline": ["Datetime value out of range."]}),
        ({"deadline": "9999-12-30T00:00:00Z"}, {"deadline": [DURATION_REFUSED]}),
        ({"starts_at": "0001-01-01T00:00:00Z"}, {"starts_at": [START_REFUSED]}),
        ({"starts_at": _years(1.1), "deadline": _years(1.2)}, {"starts_at": [START_REFUSED]}),
        ({"starts_at": _years(-1.1)}, {"starts_at": [START_REFUSED]}),
        ({"deadline": _years(3.1)}, {"deadline": [DURATION_REFUSED]}),
    ],
)
def test_dates_out_of_range_are_refused_on_their_field_and_nothing_is_written(admin, fields, errors):
    client = api_client(admin)
    draft = ChallengeFactory.create(status=Status.DRAFT)
    before = list(Challenge.objects.values_list("pk", "starts_at", "deadline"))

    created = post(client, f"{V1}/challenges/", _draft_fields(**fields))
    edited = patch(client, f"{V1}/challenges/{draft.pk}/", fields)

    assert (created.status_code, created.json()) == (400, errors)
    assert (edited.status_code, edited.json()) == (400, errors)
    assert list(Challenge.objects.values_list("pk", "starts_at", "deadline")) == before


def test_a_partial_update_needs_each_skill_slot_and_the_counterpart_whole(admin):
    client = api_client(admin)
    draft = ChallengeFactory.create(status=Status.DRAFT, goal_kind="skills", goal_target=None)
    SkillSlot.objects.create(challenge=draft, skill="Carpentry", count=2)

    missing_skill = patch(client, f"{V1}/challenges/{draft.pk}/", {"skill_slots": [{"count": 2}]})
    too_many = patch(
        client, f"{V1}/challenges/{draft.pk}/", {"skill_slots": [{"skill": "Crowd", "count": 3_000_000_000}]}
    )
    half_counterpart = patch(client, f"{V1}/challenges/{draft.pk}/", {"counterpart": {"amount": "5"}})

    assert (missing_skill.status_code, missing_skill.json()) == (
        400,
        {"skill_slots.0.skill": ["This field is required."]},
    )
    assert too_many.status_code == 400
    assert list(too_many.json()) == ["skill_slots.0.count"]
    assert (half_counterpart.status_code, list(half_counterpart.json())) == (400, ["counterpart.description"])
    assert list(draft.skill_slots.values_list("skill", "count")) == [("Carpentry", 2)]


def test_only_a_skills_goal_has_skill_slots(admin):
    client = api_client(admin)
    slots = [{"skill": "Design", "count": 1}]

    refused = post(client, f"{V1}/challenges/", _draft_fields(skill_slots=slots))
    skills = post(
        client, f"{V1}/challenges/", _draft_fields(goal_kind="skills", goal_target=None, skill_slots=slots)
    ).json()
    changed = patch(
        client, f"{V1}/challenges/{skills['id']}/", {"goal_kind": "participants", "goal_target": "5"}
    )

    assert (refused.status_code, refused.json()) == (
        400,
        {"skill_slots": ["Only a skills goal has skill slots."]},
    )
    assert changed.status_code == 200
    assert changed.json()["skill_slots"] == []
    assert not SkillSlot.objects.filter(challenge_id=skills["id"]).exists()


def test_a_challenge_of_three_years_starting_in_a_year_is_accepted(admin):
    response = post(
        api_client(admin), f"{V1}/challenges/", _draft_fields(starts_at=_years(0.99), deadline=_years(3.98))
    )

    assert response.status_code == 201


def test_a_refused_challenge_says_each_thing_once_in_words_a_person_reads(admin):
    response = post(
        api_client(admin),
        f"{V1}/challenges/",
        _draft_fields(goal_kind="quantity", deadline=(timezone.now() - dt.timedelta(days=2)).isoformat()),
    )

    assert response.json() == {
        "metric": ["A quantity goal needs a metric (km, meals, kg…)."],
        "deadline": ["The deadline must come after the start."],
    }


def test_an_admin_edits_a_draft_but_a_published_challenge_is_refused_with_409(admin):
    client = api_client(admin)
    draft = ChallengeFactory.create(title="Draft", status=Status.DRAFT)
    published = ChallengeFactory.create(title="Published")

    edited = patch(client, f"{V1}/challenges/{draft.pk}/", {"title": "Better title", "goal_target": "25"})
    refused = patch(client, f"{V1}/challenges/{published.pk}/", {"title": "Changed terms"})

    assert edited.status_code == 200
    assert edited.json()["title"] == "Better title"
    assert edited.json()["goal_target"] == "25.00"
    assert refused.status_code == 409
    assert refused.json() == {"detail": "Only a draft can be edited; this challenge is open."}
    published.refresh_from_db()
    assert published.title == "Published"


def test_publishing_twice_is_refused_with_409_and_a_message(admin):
    draft = ChallengeFactory.create(status=Status.DRAFT)
    client = api_client(admin)

    first = post(client, f"{V1}/challenges/{draft.pk}/publish/")
    second = post(client, f"{V1}/challenges/{draft.pk}/publish/")

    assert first.status_code == 200
    assert first.json()["status"] == "open"
    assert second.status_code == 409
    assert second.json() == {"detail": "Cannot publish a challenge that is open; only from: draft."}
    assert ChallengeEvent.objects.filter(challenge=draft, to_status="open").count() == 1


def test_cancelling_needs_a_cause_and_voids_the_counterpart(admin):
    counterpart = CounterpartFactory.create()
    path = f"{V1}/challenges/{counterpart.challenge_id}/cancel/"
    client = api_client(admin)

    without_cause = post(client, path, {"cause": " "})
    cancelled = post(client, path, {"cause": "The site closes"})

    assert without_cause.status_code == 400
    assert without_cause.json() == {"cause": ["This field may not be blank."]}
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    counterpart.refresh_from_db()
    assert counterpart.status == Counterpart.Status.VOID


def test_an_admin_delivers_a_due_counterpart_with_proof(admin):
    counterpart = CounterpartFactory.create(challenge__status=Status.SUCCEEDED, status=Counterpart.Status.DUE)
    path = f"{V1}/challenges/{counterpart.challenge_id}/counterpart/deliver/"
    client = api_client(admin)

    no_proof = post(client, path, {})
    delivered = post(client, path, {"proof_url": "https://intranet.example/canteen-menu"})
    again = post(client, path, {"proof_text": "Twice?"})

    assert no_proof.status_code == 400
    assert no_proof.json() == {"proof_text": ["Give a proof of delivery: a text, a link or a file."]}
    assert delivered.status_code == 200
    assert delivered.json()["status"] == "delivered"
    assert delivered.json()["proof_url"] == "https://intranet.example/canteen-menu"
    assert again.status_code == 409
    counterpart.refresh_from_db()
    assert counterpart.proof_text == ""


@pytest.mark.parametrize("role", [PARTICIPANT, EXECUTIVE])
def test_only_an_admin_creates_publishes_cancels_and_delivers(in_org_a, role):
    # given a draft, an open challenge with a due counterpart, and someone who is not an admin
    person = UserFactory.create(role=role)
    draft = ChallengeFactory.create(status=Status.DRAFT, title="Draft")
    due = CounterpartFactory.create(status=Counterpart.Status.DUE)
    client = api_client(person)
    events_before = ChallengeEvent.objects.count()

    # when they try each admin action
    responses = [
        post(client, f"{V1}/challenges/", _draft_fields()),
        patch(client, f"{V1}/challenges/{draft.pk}/", {"title": "Hijacked"}),
        post(client, f"{V1}/challenges/{draft.pk}/publish/"),
        post(client, f"{V1}/challenges/{due.challenge_id}/cancel/", {"cause": "Because"}),
        post(client, f"{V1}/challenges/{due.challenge_id}/counterpart/deliver/", {"proof_text": "Done"}),
    ]

    # then every one is refused and nothing moved
    assert [r.status_code for r in responses] == [403] * 5
    draft.refresh_from_db()
    due.refresh_from_db()
    assert (draft.title, draft.status) == ("Draft", Status.DRAFT)
    assert due.status == Counterpart.Status.DUE
    assert due.challenge.status == Status.OPEN
    assert Challenge.objects.count() == 2
    assert ChallengeEvent.objects.count() == events_before


def test_the_detail_shows_forecast_skill_slots_counterpart_and_team_standings(participant):
    # given an open quantity challenge at 60 % after half its time, and two teams
    now = timezone.now()
    challenge = _quantity_challenge(
        starts_at=now - dt.timedelta(days=10), deadline=now + dt.timedelta(days=10)
    )
    CounterpartFactory.create(challenge=challenge, description="A bike shed")
    small, big = TeamFactory.create(name="Small"), TeamFactory.create(name="Big")
    services.team_join(actor=participant, team=small)
    for _ in range(3):
        services.team_join(actor=UserFactory.create(), team=big)
    Contribution.objects.create(
        challenge=challenge, user=participant, team=small, day=now.date(), amount=Decimal(60)
    )
    Challenge.objects.filter(pk=challenge.pk).update(quantity_total=Decimal(60))

    # when a participant reads it
    response = api_client(participant).get(f"{V1}/challenges/{challenge.pk}/")

    # then everything the page needs is there
    assert response.status_code == 200
    body = response.json()
    assert body["metric"]["key"] == "km-cycled"
    assert body["progress"]["percent"] == 60
    assert body["forecast"]["on_track"] is True
    assert body["counterpart"]["description"] == "A bike shed"
    assert body["skill_slots"] == []
    assert [(t["name"], t["members"], t["quantity"], t["per_head"]) for t in body["team_standings"]] == [
        ("Small", 1, "60.00", "60.00"),
        ("Big", 3, "0.00", "0.00"),
    ]


def test_events_are_read_by_admins_and_executives_not_participants(admin, executive, participant):
    draft = ChallengeFactory.create(status=Status.DRAFT)
    services.challenge_publish(actor=admin, challenge_id=draft.pk)

    as_admin = api_client(admin).get(f"{V1}/challenges/{draft.pk}/events/")
    as_executive = api_client(executive).get(f"{V1}/challenges/{draft.pk}/events/")
    as_participant = api_client(participant).get(f"{V1}/challenges/{draft.pk}/events/")

    assert as_admin.status_code == 200
    event = as_admin.json()["results"][0]
    assert (event["subject"], event["from_status"], event["to_status"], event["cause"]) == (
        "challenge",
        "draft",
        "open",
        "Published",
    )
    assert event["actor"]["email"] == "admin.api@alpha.test"
    # The admin sees their own name; the executive sees it only if the admin chose to show it.
    assert event["actor"]["display_name"] == "Ada Admin"
    seen_by_executive = as_executive.json()
    assert seen_by_executive["results"][0]["actor"]["display_name"] is None
    seen_by_executive["results"][0]["actor"]["display_name"] = "Ada Admin"
    assert seen_by_executive == as_admin.json()
    assert as_participant.status_code == 403


# Pledges ----------------------------------------------------------------------------------------


def test_a_participant_pledges_for_themselves_and_the_last_pledge_reaches_the_goal(
    participant, other_participant
):
    challenge = ChallengeFactory.create(goal_target=Decimal(2))
    team = TeamFactory.create(name="Logistics")
    services.team_join(actor=participant, team=team)

    first = post(api_client(other_participant), f"{V1}/challenges/{challenge.pk}/pledge/")
    second = post(api_client(participant), f"{V1}/challenges/{challenge.pk}/pledge/", {"skill_slot": None})

    assert first.status_code == 201
    assert second.status_code == 201, second.content
    body = second.json()
    assert body["person"] == {"id": participant.pk, "display_name": "Pat Part", "email": "pat.api@alpha.test"}
    assert body["team"] == {"id": team.pk, "name": "Logistics"}
    assert body["challenge"] == {"id": challenge.pk, "title": challenge.title}
    challenge.refresh_from_db()
    assert challenge.status == Status.SUCCEEDED
    assert challenge.pledge_count == 2


def test_pledging_twice_is_refused_with_409_and_counted_once(participant):
    challenge = ChallengeFactory.create()
    client = api_client(participant)

    post(client, f"{V1}/challenges/{challenge.pk}/pledge/")
    again = post(client, f"{V1}/challenges/{challenge.pk}/pledge/")

    assert again.status_code == 409
    assert again.json() == {"detail": "You have already pledged to this challenge."}
    challenge.refresh_from_db()
    assert challenge.pledge_count == 1


def test_a_skills_pledge_takes_a_slot_of_this_challenge(participant):
    challenge = ChallengeFactory.create(goal_kind=Challenge.GoalKind.SKILLS, goal_target=None)
    slot = SkillSlot.objects.create(challenge=challenge, skill="Designer", count=2)
    client = api_client(participant)

    missing = post(client, f"{V1}/challenges/{challenge.pk}/pledge/")
    taken = post(client, f"{V1}/challenges/{challenge.pk}/pledge/", {"skill_slot": slot.pk})

    assert missing.status_code == 400
    assert missing.json() == {"skill_slot": ["Choose the skill you offer."]}
    assert taken.status_code == 201
    assert taken.json()["skill_slot"] == slot.pk
    slot.refresh_from_db()
    assert slot.filled_count == 1


def test_a_participant_withdraws_then_confirms_only_after_success(participant):
    open_one = ChallengeFactory.create()
    client = api_client(participant)
    post(client, f"{V1}/challenges/{open_one.pk}/pledge/")

    too_early = post(client, f"{V1}/challenges/{open_one.pk}/confirm/")
    withdrawn = post(client, f"{V1}/challenges/{open_one.pk}/withdraw/")
    withdrawn_again = post(client, f"{V1}/challenges/{open_one.pk}/withdraw/")

    assert too_early.status_code == 409
    assert too_early.json() == {"detail": "You can confirm once the challenge has succeeded."}
    assert withdrawn.status_code == 200
    assert withdrawn.json()["withdrawn_at"] is not None
    assert withdrawn_again.status_code == 409
    open_one.refresh_from_db()
    assert open_one.pledge_count == 0

    won = ChallengeFactory.create(goal_target=Decimal(1))
    post(client, f"{V1}/challenges/{won.pk}/pledge/")
    confirmed = post(client, f"{V1}/challenges/{won.pk}/confirm/")
    assert confirmed.status_code == 200
    assert confirmed.json()["confirmed_at"] is not None


def test_pledging_to_a_draft_or_an_unknown_challenge_is_not_found(participant):
    draft = ChallengeFactory.create(status=Status.DRAFT)
    client = api_client(participant)

    to_draft = post(client, f"{V1}/challenges/{draft.pk}/pledge/")
    to_nothing = post(client, f"{V1}/challenges/{draft.pk + 1000}/pledge/")

    assert (to_draft.status_code, to_nothing.status_code) == (404, 404)
    assert to_nothing.json() == {"detail": "No such challenge."}
    assert not Pledge.objects.exists()


def test_a_participant_sees_only_their_own_pledges_admins_and_executives_all(
    admin, executive, participant, other_participant
):
    challenge = ChallengeFactory.create()
    mine = services.pledge_create(actor=participant, challenge_id=challenge.pk)
    services.pledge_create(actor=other_participant, challenge_id=challenge.pk)

    own = api_client(participant).get(f"{V1}/pledges/")
    every = api_client(admin).get(f"{V1}/pledges/", {"challenge": challenge.pk})
    read = api_client(executive).get(f"{V1}/pledges/")

    assert [p["id"] for p in own.json()["results"]] == [mine.pk]
    assert b"olga.api@alpha.test" not in own.content
    assert every.json()["count"] == 2
    assert {p["person"]["email"] for p in every.json()["results"]} == {
        "pat.api@alpha.test",
        "olga.api@alpha.test",
    }
    assert read.json()["count"] == 2


# Contributions ----------------------------------------------------------------------------------


def test_a_participant_logs_a_contribution_for_themselves_only(participant, other_participant):
    challenge = _quantity_challenge()
    today = timezone.localdate()

    response = post(
        api_client(participant),
        f"{V1}/contributions/",
        # a "user" in the body is ignored: one logs for oneself
        {"challenge": challenge.pk, "day": today.isoformat(), "amount": "12.5", "user": other_participant.pk},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["person"]["id"] == participant.pk
    assert body["amount"] == "12.50"
    assert Contribution.objects.get().user == participant
    challenge.refresh_from_db()
    assert challenge.quantity_total == Decimal("12.50")
    assert challenge.pledge_count == 1


def test_a_contribution_over_the_daily_cap_gets_a_message_and_changes_nothing(participant):
    challenge = _quantity_challenge()
    today = timezone.localdate().isoformat()

    response = post(
        api_client(participant),
        f"{V1}/contributions/",
        {"challenge": challenge.pk, "day": today, "amount": "151"},
    )

    assert response.status_code == 400
    assert response.json() == {"amount": [f"At most 150 a day: 0 already logged on {today}."]}
    assert not Contribution.objects.exists()
    challenge.refresh_from_db()
    assert challenge.quantity_total == 0


def test_a_contribution_to_a_pledge_only_challenge_is_refused_with_409(participant):
    challenge = ChallengeFactory.create()

    response = post(
        api_client(participant),
        f"{V1}/contributions/",
        {"challenge": challenge.pk, "day": timezone.localdate().isoformat(), "amount": "1"},
    )

    assert response.status_code == 409
    assert response.json() == {"detail": "This challenge counts pledges, not quantities."}
    assert not Contribution.objects.exists()


def test_a_contribution_to_a_challenge_one_cannot_see_is_refused_on_the_field(participant):
    draft = _quantity_challenge(status=Status.DRAFT)

    response = post(
        api_client(participant),
        f"{V1}/contributions/",
        {"challenge": draft.pk, "day": timezone.localdate().isoformat(), "amount": "1"},
    )

    assert response.status_code == 400
    assert response.json() == {"challenge": ["This challenge does not exist."]}
    assert not Contribution.objects.exists()


def test_a_participant_lists_only_their_own_contributions(admin, participant, other_participant):
    challenge = _quantity_challenge()
    today = timezone.localdate()
    services.contribution_create(actor=participant, challenge_id=challenge.pk, day=today, amount=Decimal(3))
    services.contribution_create(
        actor=other_participant, challenge_id=challenge.pk, day=today, amount=Decimal(4)
    )

    own = api_client(participant).get(f"{V1}/contributions/")
    every = api_client(admin).get(f"{V1}/contributions/")

    assert [c["amount"] for c in own.json()["results"]] == ["3.00"]
    assert sorted(c["amount"] for c in every.json()["results"]) == ["3.00", "4.00"]


# Query counts: every list costs the same number of queries with 10 rows as with 1,000 --------


def _seed_teams(n: int, admin: User, participant: User) -> None:
    teams = Team.objects.bulk_create(Team(name=f"Team {i:04}", captain=admin) for i in range(n))
    TeamMembership.objects.create(user=participant, team=teams[0])


def _seed_metrics(n: int, admin: User, participant: User) -> None:
    car = ImpactFactor.objects.get(key="transport_car_thermal")
    bike = ImpactFactor.objects.get(key="transport_bike")
    Metric.objects.bulk_create(
        Metric(
            key=f"metric-{i}",
            name_en=f"Metric {i:04}",
            name_fr=f"Mesure {i:04}",
            unit_en="km",
            unit_fr="km",
            daily_cap=Decimal(10),
            baseline_factor=car,
            action_factor=bike,
        )
        for i in range(n)
    )


def _seed_factors(n: int, admin: User, participant: User) -> None:
    ImpactFactor.objects.bulk_create(
        ImpactFactor(key=f"factor-{i}", label_en="F", label_fr="F", unit="km", source="Test", year=2025)
        for i in range(n)
    )


def _seed_challenges(n: int, admin: User, participant: User) -> list[Challenge]:
    now = timezone.now()
    kinds = [Challenge.GoalKind.PARTICIPANTS, Challenge.GoalKind.SKILLS]
    challenges = Challenge.objects.bulk_create(
        Challenge(
            title=f"Challenge {i}",
            category=Challenge.Category.ENVIRONMENT,
            starts_at=now - dt.timedelta(days=1, minutes=i),
            deadline=now + dt.timedelta(days=30),
            status=Status.OPEN,
            goal_kind=kinds[i % 2],
            goal_target=None if i % 2 else Decimal(10),
        )
        for i in range(n)
    )
    SkillSlot.objects.bulk_create(
        SkillSlot(challenge=c, skill="Designer", count=2) for c in challenges if c.goal_kind == "skills"
    )
    Counterpart.objects.bulk_create(Counterpart(challenge=c, description="Promise") for c in challenges[::3])
    return challenges


def _seed_events(n: int, admin: User, participant: User) -> None:
    challenge = ChallengeFactory.create(title="Eventful")
    ChallengeEvent.objects.bulk_create(
        ChallengeEvent(challenge=challenge, from_status="draft", to_status="open", actor=admin, cause=f"#{i}")
        for i in range(n)
    )


def _seed_pledges(n: int, admin: User, participant: User) -> None:
    team = TeamFactory.create(name="Pledgers")
    challenges = _seed_challenges(n, admin, participant)
    Pledge.objects.bulk_create(Pledge(challenge=c, user=participant, team=team) for c in challenges)
    others = User.objects.bulk_create(User(email=f"other{i}@alpha.test") for i in range(n))
    Pledge.objects.bulk_create(Pledge(challenge=challenges[0], user=u) for u in others)


def _seed_contributions(n: int, admin: User, participant: User) -> None:
    challenge = _quantity_challenge(title="Contributed")
    today = timezone.localdate()
    Contribution.objects.bulk_create(
        Contribution(challenge=challenge, user=user, day=today, amount=Decimal(1))
        for i in range(n)
        for user in (participant, admin)
    )


def _seed_tokens(n: int, admin: User, participant: User) -> None:
    ApiToken.objects.bulk_create(
        ApiToken(
            name=f"t{i}",
            prefix="cra_x",
            key_hash=api_token_hash(f"s{i}"),
            user=admin,
            created_by=admin,
            expires_at=timezone.now() + dt.timedelta(days=30),
        )
        for i in range(n)
    )


def _events_path() -> str:
    return f"{V1}/challenges/{Challenge.objects.get(title='Eventful').pk}/events/"


# (name, seed, path, who asks, exact number of queries). Every request pays 5 for the edges (search_path
# to public, the host's domain, search_path to the organisation, the session, the person), 2 more
# when a role is checked (the person's and their groups' permissions), then 2 for the page (count,
# rows) and 1 per prefetched relation: never one per row.
LISTS: list[tuple[str, Callable[[int, User, User], Any], str | Callable[[], str], str, int]] = [
    ("teams", _seed_teams, f"{V1}/teams/", "participant", 9),
    ("metrics", _seed_metrics, f"{V1}/metrics/", "participant", 7),
    ("impact factors", _seed_factors, f"{V1}/impact-factors/", "participant", 7),
    ("challenges", _seed_challenges, f"{V1}/challenges/", "participant", 10),
    ("challenges (admin)", _seed_challenges, f"{V1}/challenges/?status=open", "admin", 10),
    ("events", _seed_events, _events_path, "executive", 11),
    ("pledges (own)", _seed_pledges, f"{V1}/pledges/", "participant", 9),
    ("pledges (all)", _seed_pledges, f"{V1}/pledges/", "admin", 9),
    ("contributions (own)", _seed_contributions, f"{V1}/contributions/", "participant", 9),
    ("contributions (all)", _seed_contributions, f"{V1}/contributions/", "executive", 9),
    ("tokens", _seed_tokens, f"{V1}/tokens/", "admin", 9),
]


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize(("name", "seed", "path", "who", "queries"), LISTS, ids=[row[0] for row in LISTS])
def test_every_list_costs_the_same_queries_with_10_or_1000_rows(
    admin, executive, participant, django_assert_num_queries, rows, name, seed, path, who, queries
):
    # given `rows` rows, and someone signed in (session and permissions are part of the count)
    seed(rows, admin, participant)
    client = api_client({"admin": admin, "executive": executive, "participant": participant}[who])
    url = path() if callable(path) else path

    # when they read the first page
    with django_assert_num_queries(queries):
        response = client.get(url)

    # then the page is full (or holds every row) in the same number of queries
    assert response.status_code == 200, response.content
    assert response.json()["count"] >= rows
    assert len(response.json()["results"]) == min(50, response.json()["count"])


@pytest.mark.parametrize("page_size", ["0", "201", "-1", "ten", "3.5", ""])
def test_a_page_size_that_is_not_one_is_refused_with_a_message(participant, page_size):
    response = api_client(participant).get(f"{V1}/challenges/", {"page_size": page_size})

    assert response.status_code == 400
    assert response.json() == {"page_size": ["A page holds 1 to 200 items."]}


@pytest.mark.parametrize(
    "path", [f"{V1}/no-such-thing/", f"{V1}/challenges/abc/", "/api/v2/", "/api/v1/challenges/1/nothing/"]
)
def test_an_unknown_api_address_answers_json_like_every_other_api_error(participant, path):
    response = api_client(participant).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_body_too_large_answers_413_in_json(admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = post(api_client(admin), f"{V1}/teams/", {"name": "x" * 2000})

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}
    assert not Team.objects.filter(name="x" * 2000).exists()


def test_an_empty_proof_url_is_null_as_the_document_says(admin):
    challenge = ChallengeFactory.create(status=Status.SUCCEEDED)
    CounterpartFactory.create(challenge=challenge, status="delivered", proof_text="Done", proof_url="")

    body = api_client(admin).get(f"{V1}/challenges/{challenge.pk}/").json()

    assert body["counterpart"]["proof_url"] is None
