"""The participant pages: home, a challenge and its actions (pledge, offer, withdraw, log, confirm), my
activity, my team, teams, privacy, my data (export, erasure), and the widget intranets frame.

Every action is a POST answered by a redirect and a message; bad input comes back with the errors next
to the fields and writes nothing. The home page, the challenge page and the leaderboard issue the same
number of queries with 10 rows as with 1,000.

This module holds the challenge page and its actions; home and access, my activity and teams, my data,
the query counts (this package) and the widget (tests/participants/test_widget.py) have their own.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from challenges import services
from challenges.models import Pledge
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory
from tests.participants.pages.support import (
    Status,
    _follow,
    _km,
    _messages,
    _quantity_challenge,
    _skills_challenge,
    _state,
)

pytestmark = pytest.mark.django_db


# The challenge page -------------------------------------------------------------------------------


def test_the_challenge_page_shows_progress_forecast_standings_and_my_team(client, participant):
    # Given a challenge under way, two teams and my team leading
    now = timezone.now()
    challenge = ChallengeFactory.create(
        title="Organic Tuesday", goal_target=Decimal(100), starts_at=now - dt.timedelta(days=2)
    )
    CounterpartFactory.create(challenge=challenge)
    mine, other = TeamFactory.create(name="Finance"), TeamFactory.create(name="Sales")
    services.team_join(actor=participant, team=mine)
    services.pledge_create(actor=participant, challenge_id=challenge.pk)
    for _ in range(2):
        services.team_join(actor=UserFactory.create(), team=other)

    # When I open its page
    response = client.get(f"/challenges/{challenge.pk}/")

    # Then I see progress with its text, the forecast, the teams per head and the promise
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 of 100 participants (1 %)" in page
    assert "At risk" in page
    assert [s.name for s in response.context["standings"]] == ["Finance", "Sales"]
    assert response.context["my_rank"] == 1
    assert "your team" in page
    assert "15 % organic food in the canteen" in page
    # And my part: I pledged, I can withdraw, but not pledge again nor confirm yet
    actions = response.context["actions"]
    assert (actions.pledge, actions.withdraw, actions.confirm) == (False, True, False)
    assert "Withdraw my pledge" in page
    assert "I pledge" not in page


def test_a_participant_pledges_and_is_counted_for_their_team(client, participant):
    # Given an open challenge and my team
    challenge = ChallengeFactory.create()
    team = TeamFactory.create()
    services.team_join(actor=participant, team=team)

    # When I pledge
    response = client.post(f"/challenges/{challenge.pk}/pledge/")

    # Then I land back on the challenge, told so, and I count, for my team
    assert response.status_code == 302
    assert response["Location"] == f"/challenges/{challenge.pk}/"
    page = client.get(response["Location"])
    assert "You pledged. It counts as soon as enough others join." in _messages(page)
    challenge.refresh_from_db()
    assert challenge.pledge_count == 1
    assert Pledge.objects.get(challenge=challenge, user=participant).team == team


def test_pledging_twice_is_refused_with_a_message_and_changes_nothing(client, participant):
    challenge = ChallengeFactory.create()
    services.pledge_create(actor=participant, challenge_id=challenge.pk)
    before = _state()

    response = _follow(client, f"/challenges/{challenge.pk}/pledge/")

    assert response.redirect_chain == [(f"/challenges/{challenge.pk}/", 302)]
    assert _messages(response) == ["You have already pledged to this challenge."]
    assert _state() == before


def test_pledging_to_a_challenge_that_has_not_started_is_refused(client, participant):
    challenge = ChallengeFactory.create(starts_at=timezone.now() + dt.timedelta(days=1))
    before = _state()

    page = client.get(f"/challenges/{challenge.pk}/").content.decode()
    response = _follow(client, f"/challenges/{challenge.pk}/pledge/")

    assert "This challenge opens on" in page
    assert _messages(response) == ["This challenge has not started yet."]
    assert _state() == before


def test_withdrawing_works_until_success_then_is_refused(client, participant):
    # Given my pledge to an open challenge
    challenge = ChallengeFactory.create(goal_target=Decimal(2))
    services.pledge_create(actor=participant, challenge_id=challenge.pk)

    # When I withdraw it
    response = _follow(client, f"/challenges/{challenge.pk}/withdraw/")

    # Then it no longer counts
    assert _messages(response) == ["Your pledge is withdrawn."]
    challenge.refresh_from_db()
    assert challenge.pledge_count == 0

    # Given I pledge again and the goal is reached
    services.pledge_create(actor=participant, challenge_id=challenge.pk)
    services.pledge_create(actor=UserFactory.create(), challenge_id=challenge.pk)
    challenge.refresh_from_db()
    assert challenge.status == Status.SUCCEEDED
    before = _state()

    # When I try to withdraw
    response = _follow(client, f"/challenges/{challenge.pk}/withdraw/")

    # Then it is refused, with the reason, and nothing changed
    assert _messages(response) == ["This challenge is succeeded: pledges can no longer be withdrawn."]
    assert "Withdraw my pledge" not in response.content.decode()
    assert "pledges can no longer be withdrawn" in response.content.decode()
    assert _state() == before


def test_i_did_it_can_be_confirmed_only_after_success(client, participant):
    # Given my pledge to an open challenge
    challenge = ChallengeFactory.create(goal_target=Decimal(2))
    services.pledge_create(actor=participant, challenge_id=challenge.pk)
    before = _state()

    # When I confirm before success: refused, nothing changed, and the page does not offer it
    response = _follow(client, f"/challenges/{challenge.pk}/confirm/")
    assert _messages(response) == ["You can confirm once the challenge has succeeded."]
    assert "I did it" not in response.content.decode()
    assert _state() == before

    # Given the goal is reached
    services.pledge_create(actor=UserFactory.create(), challenge_id=challenge.pk)

    # Then the page offers it, and confirming records it
    assert "I did it" in client.get(f"/challenges/{challenge.pk}/").content.decode()
    response = _follow(client, f"/challenges/{challenge.pk}/confirm/")
    assert _messages(response) == ["Thank you: you confirmed you did it."]
    assert Pledge.objects.get(challenge=challenge, user=participant).confirmed_at is not None
    assert "You confirmed you did it. Thank you!" in response.content.decode()


def test_logging_a_quantity_counts_it_and_shows_my_total(client, participant):
    # Given a quantity challenge in km
    challenge = _quantity_challenge(starts_at=timezone.now() - dt.timedelta(days=3))
    today = timezone.localdate()

    # When I log 12.5 km today with a note
    response = _follow(
        client,
        f"/challenges/{challenge.pk}/contribute/",
        {"day": today.isoformat(), "amount": "12.5", "note": "Round trip"},
    )

    # Then it counts, I am counted as a participant, and the page shows my total
    assert _messages(response) == [f"Logged: 12.5 km on {today.isoformat()}."]
    challenge.refresh_from_db()
    assert challenge.quantity_total == Decimal("12.5")
    assert challenge.pledge_count == 1
    page = response.content.decode()
    assert "You logged 12.50 km, in 1 entry." in page
    assert "Round trip" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"day": "2999-01-01", "amount": "5"}, "day", "This day is in the future."),
        ({"day": "today", "amount": "-3"}, "amount", "Ensure this value is greater than or equal to 0.01."),
        ({"day": "today", "amount": ""}, "amount", "This field is required."),
        ({"day": "not a date", "amount": "5"}, "day", "Enter a valid date."),
        ({"day": "today", "amount": "160"}, "amount", "At most 150 a day: 0 already logged on"),
        ({"day": "long ago", "amount": "5"}, "day", "Pick a day between"),
    ],
)
def test_a_wrong_contribution_comes_back_with_the_error_next_to_its_field_and_changes_nothing(
    client, participant, data, field, message
):
    # Given a quantity challenge in km (at most 150 km a day)
    challenge = _quantity_challenge(starts_at=timezone.now() - dt.timedelta(days=3))
    assert _km().daily_cap == Decimal(150)
    days = {"today": timezone.localdate(), "long ago": timezone.localdate() - dt.timedelta(days=30)}
    data = {**data, "day": days[data["day"]].isoformat() if data["day"] in days else data["day"]}
    before = _state()

    # When I log something wrong
    response = client.post(f"/challenges/{challenge.pk}/contribute/", data)

    # Then the page comes back with the error next to the field, described for screen readers
    assert response.status_code == 200
    page = response.content.decode()
    errors = response.context["contribution_form"].errors
    assert any(m.startswith(message) for m in errors[field]), errors
    assert re.search(rf'<ul class="errorlist" id="id_{field}_error">\s*<li>{re.escape(message)}', page)
    assert re.search(
        rf'id="id_{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{field}"', page
    )
    assert f'aria-describedby="id_{field}_error"' in page
    assert 'class="error-summary"' in page
    assert f'href="#id_{field}"' in page
    # And nothing was written
    assert _state() == before


def test_logging_against_a_participants_goal_is_refused(client, participant):
    challenge = ChallengeFactory.create()
    before = _state()

    response = _follow(
        client, f"/challenges/{challenge.pk}/contribute/", {"day": timezone.localdate(), "amount": "1"}
    )

    assert _messages(response) == ["This challenge counts pledges, not quantities."]
    assert _state() == before


def test_offering_myself_for_a_skill_slot_then_logging_hours(client, participant):
    # Given a skills challenge with two slots
    challenge, design, _accounting = _skills_challenge()
    page = client.get(f"/challenges/{challenge.pk}/").content.decode()
    # The choice is a group of radio buttons with its legend
    assert re.search(r"<fieldset[^>]*>\s*<legend[^>]*>The skill you offer", page)
    assert "Design (2 places left out of 2)" in page

    # When I offer myself as a designer
    response = _follow(client, f"/challenges/{challenge.pk}/offer/", {"skill_slot": design.pk})

    # Then I hold one of the places
    assert _messages(response) == ["You offered yourself as “Design”. Log your hours here once you start."]
    design.refresh_from_db()
    assert design.filled_count == 1
    assert Pledge.objects.get(user=participant, challenge=challenge).skill_slot == design

    # When I log 3 hours on it
    response = _follow(
        client,
        f"/challenges/{challenge.pk}/contribute/",
        {"skill_slot": design.pk, "day": timezone.localdate().isoformat(), "amount": "3"},
    )

    # Then they count on the slot
    assert _messages(response) == [f"Logged: 3 hours on {timezone.localdate().isoformat()}."]
    design.refresh_from_db()
    assert design.filled_hours == Decimal(3)


def test_hours_on_a_slot_i_did_not_offer_for_come_back_with_the_error_and_change_nothing(client, participant):
    challenge, design, accounting = _skills_challenge()
    services.pledge_create(actor=participant, challenge_id=challenge.pk, skill_slot_id=design.pk)
    before = _state()

    response = client.post(
        f"/challenges/{challenge.pk}/contribute/",
        {"skill_slot": accounting.pk, "day": timezone.localdate().isoformat(), "amount": "2"},
    )

    assert response.status_code == 200
    assert response.context["contribution_form"].errors["skill_slot"] == [
        "Offer yourself for this skill slot before logging hours."
    ]
    assert _state() == before


@pytest.mark.parametrize("path", ["offer", "pledge"])
def test_offering_without_choosing_a_skill_shows_the_error_next_to_the_choice(client, participant, path):
    challenge, _design, _accounting = _skills_challenge()
    before = _state()

    response = client.post(f"/challenges/{challenge.pk}/{path}/", {})

    assert response.status_code == 200
    assert response.context["offer_form"].errors["skill_slot"] == ["Choose the skill you offer."]
    page = response.content.decode()
    # The group of radio buttons is described by its error
    assert re.search(r'<fieldset aria-describedby="id_skill_slot_error">', page)
    assert _state() == before


def test_offering_for_a_filled_slot_is_refused_with_a_message(client, participant):
    challenge, _design, accounting = _skills_challenge()
    services.pledge_create(actor=UserFactory.create(), challenge_id=challenge.pk, skill_slot_id=accounting.pk)
    before = _state()

    response = _follow(client, f"/challenges/{challenge.pk}/offer/", {"skill_slot": accounting.pk})

    assert _messages(response) == ["The “Accounting” slot is already filled."]
    assert _state() == before
