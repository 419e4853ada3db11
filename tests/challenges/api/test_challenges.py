"""The API under /api/v1/: who may do what, what each endpoint answers, how errors look, and how many
queries each list costs (the same with 10 rows as with 1,000).

This module holds the challenges (list, detail, create, edit, publish, cancel, deliver, events); the
other endpoints, the errors and the query counts have a module each in this package.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from accounts.roles import EXECUTIVE, PARTICIPANT
from challenges import services
from challenges.models import Challenge, ChallengeEvent, Contribution, Counterpart, SkillSlot
from tests.api import V1, api_client, patch, post
from tests.challenges.api.support import Status, _quantity_challenge
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


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


def test_admins_and_executives_see_drafts_participants_do_not(ada_admin, eve_executive, pat_participant):
    draft = ChallengeFactory.create(title="Secret draft", status=Status.DRAFT)

    seen = {
        person.email: api_client(person).get(f"{V1}/challenges/{draft.pk}/").status_code
        for person in (ada_admin, eve_executive, pat_participant)
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


def test_events_are_read_by_admins_and_executives_not_participants(ada_admin, executive, participant):
    draft = ChallengeFactory.create(status=Status.DRAFT)
    services.challenge_publish(actor=ada_admin, challenge_id=draft.pk)

    as_admin = api_client(ada_admin).get(f"{V1}/challenges/{draft.pk}/events/")
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


def test_an_empty_proof_url_is_null_as_the_document_says(admin):
    challenge = ChallengeFactory.create(status=Status.SUCCEEDED)
    CounterpartFactory.create(challenge=challenge, status="delivered", proof_text="Done", proof_url="")

    body = api_client(admin).get(f"{V1}/challenges/{challenge.pk}/").json()

    assert body["counterpart"]["proof_url"] is None
