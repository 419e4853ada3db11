"""The contributions API: logging a quantity for oneself within the daily cap, and who sees which."""

from decimal import Decimal

import pytest
from django.utils import timezone

from challenges import services
from challenges.models import Contribution
from tests.api import V1, api_client, post
from tests.challenges.api.support import Status, _quantity_challenge
from tests.factories import ChallengeFactory

pytestmark = pytest.mark.django_db


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
