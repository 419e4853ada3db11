"""The pledges API: pledging, withdrawing and confirming for oneself, and who sees which pledges."""

from decimal import Decimal

import pytest

from challenges import services
from challenges.models import Challenge, Pledge, SkillSlot
from tests.api import V1, api_client, post
from tests.challenges.api.support import Status
from tests.factories import ChallengeFactory, TeamFactory

pytestmark = pytest.mark.django_db


# Pledges ----------------------------------------------------------------------------------------


def test_a_participant_pledges_for_themselves_and_the_last_pledge_reaches_the_goal(
    pat_participant, other_participant
):
    challenge = ChallengeFactory.create(goal_target=Decimal(2))
    team = TeamFactory.create(name="Logistics")
    services.team_join(actor=pat_participant, team=team)

    first = post(api_client(other_participant), f"{V1}/challenges/{challenge.pk}/pledge/")
    second = post(
        api_client(pat_participant), f"{V1}/challenges/{challenge.pk}/pledge/", {"skill_slot": None}
    )

    assert first.status_code == 201
    assert second.status_code == 201, second.content
    body = second.json()
    assert body["person"] == {
        "id": pat_participant.pk,
        "display_name": "Pat Part",
        "email": "pat.api@alpha.test",
    }
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
    admin, executive, pat_participant, other_participant
):
    challenge = ChallengeFactory.create()
    mine = services.pledge_create(actor=pat_participant, challenge_id=challenge.pk)
    services.pledge_create(actor=other_participant, challenge_id=challenge.pk)

    own = api_client(pat_participant).get(f"{V1}/pledges/")
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
