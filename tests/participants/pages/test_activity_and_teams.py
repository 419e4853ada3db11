"""My activity, choosing my team, the names on a team page, my language, and the leaderboard."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from challenges import selectors, services
from challenges.models import Challenge, Pledge, Team, TeamMembership
from tests.factories import ChallengeFactory, TeamFactory, UserFactory
from tests.participants.pages.support import Status, _follow, _messages, _quantity_challenge, _search, _state

pytestmark = pytest.mark.django_db


# My activity --------------------------------------------------------------------------------------


def test_my_activity_lists_my_pledges_entries_and_totals_and_nothing_of_others(client, participant):
    # Given my pledges and entries, and someone else's
    bike = _quantity_challenge(title="Bike to work", starts_at=timezone.now() - dt.timedelta(days=3))
    organic = ChallengeFactory.create(title="Organic Tuesday")
    services.pledge_create(actor=participant, challenge_id=organic.pk)
    today = timezone.localdate()
    for amount, note in ((Decimal(10), "morning"), (Decimal("5.5"), "evening")):
        services.contribution_create(
            actor=participant, challenge_id=bike.pk, day=today, amount=amount, note=note
        )
    other = UserFactory.create()
    services.contribution_create(
        actor=other, challenge_id=bike.pk, day=today, amount=Decimal(7), note="theirs"
    )

    # When I open my activity
    response = client.get("/me/")

    # Then I see my pledges, my entries and my totals
    assert response.status_code == 200
    activity = response.context["activity"]
    assert {p.challenge.title for p in activity.pledges} == {"Bike to work", "Organic Tuesday"}
    assert (activity.active_pledges, activity.confirmed_pledges, activity.contribution_count) == (2, 0, 2)
    assert [(t["total"].title, t["total"].amount) for t in response.context["totals"]] == [
        ("Bike to work", Decimal("15.5"))
    ]
    page = response.content.decode()
    assert "15.50 km" in page
    assert "morning" in page
    assert "evening" in page
    # And nothing of anyone else
    assert "theirs" not in page


# Teams --------------------------------------------------------------------------------------------


def test_choosing_then_changing_my_team(client, participant):
    # Given two teams
    finance, sales = TeamFactory.create(name="Finance"), TeamFactory.create(name="Sales")
    page = client.get("/me/team/").content.decode()
    assert re.search(r"<fieldset[^>]*>\s*<legend[^>]*>Your team", page)

    # When I choose Finance, and pledge
    response = _follow(client, "/me/team/", {"team": finance.pk})
    assert _messages(response) == ["You are in the team “Finance”."]
    challenge = ChallengeFactory.create()
    services.pledge_create(actor=participant, challenge_id=challenge.pk)

    # When I move to Sales
    response = _follow(client, "/me/team/", {"team": sales.pk})

    # Then I am in Sales; my pledge made in Finance stays with Finance
    assert _messages(response) == ["You are in the team “Sales”."]
    assert TeamMembership.objects.get(user=participant).team == sales
    assert Pledge.objects.get(user=participant).team == finance
    assert response.context["team"] == sales


def test_choosing_no_team_or_an_unknown_one_shows_the_error_and_changes_nothing(client, participant):
    TeamFactory.create()
    before = _state()

    for data in ({}, {"team": "999999"}, {"team": "x"}):
        response = client.post("/me/team/", data)
        assert response.status_code == 200
        assert response.context["form"].errors["team"], data
        assert 'class="error-summary"' in response.content.decode()
    assert _state() == before


def test_names_on_the_team_page_follow_each_persons_choice(client, participant):
    # Given my team with me (name hidden, the default) and a colleague who shows her name
    team = TeamFactory.create(name="Finance")
    services.team_join(actor=participant, team=team)
    shown = UserFactory.create(display_name="Olga Open", show_name=True)
    services.team_join(actor=shown, team=team)

    # Then the team page shows her name and "A participant" for me
    assert _members(client, team) == ["A participant you", "Olga Open"]

    # When I choose to show my name
    response = _follow(
        client, "/me/privacy/", {"display_name": "Paula Pledger", "show_name": "on", "language": ""}
    )
    assert _messages(response) == ["Your preferences are saved."]

    # Then it appears; and when I hide it again, it is gone
    assert _members(client, team) == ["Paula Pledger you", "Olga Open"]
    client.post("/me/privacy/", {"display_name": "Paula Pledger", "language": ""})
    assert _members(client, team) == ["A participant you", "Olga Open"]
    participant.refresh_from_db()
    assert participant.show_name is False


def _members(client: Client, team: Team) -> list[str]:
    """The names in the member list of the team page, as read aloud."""
    page = client.get(f"/teams/{team.pk}/").content.decode()
    items = re.findall(r"<li>(.*?)</li>", _search(r'<ul class="members">(.*?)</ul>', page).group(1))
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_the_language_preference_is_saved_and_a_wrong_one_changes_nothing(client, participant):
    before = _state()

    response = client.post("/me/privacy/", {"display_name": "P", "language": "de"})

    assert response.status_code == 200
    assert response.context["form"].errors["language"]
    assert _state() == before

    client.post("/me/privacy/", {"display_name": "Paula", "language": "fr"})
    participant.refresh_from_db()
    assert participant.language == "fr"
    assert '<html lang="fr">' in client.get("/me/privacy/").content.decode()


def test_the_leaderboard_ranks_teams_per_head_so_a_small_team_can_win(client, participant):
    # Given a team of 2 with 2 pledges and a team of 10 with 4 pledges, in current challenges
    small, large = TeamFactory.create(name="Small"), TeamFactory.create(name="Large")
    first, second = ChallengeFactory.create(), ChallengeFactory.create()
    smalls = [UserFactory.create() for _ in range(2)]
    larges = [UserFactory.create() for _ in range(10)]
    for user in smalls:
        services.team_join(actor=user, team=small)
    for user in larges:
        services.team_join(actor=user, team=large)
    services.pledge_create(actor=smalls[0], challenge_id=first.pk)
    services.pledge_create(actor=smalls[0], challenge_id=second.pk)
    for user in larges[:4]:
        services.pledge_create(actor=user, challenge_id=first.pk)
    # and a pledge to a challenge that is over, which no longer counts
    over = ChallengeFactory.create()
    services.pledge_create(actor=larges[5], challenge_id=over.pk)
    Challenge.objects.filter(pk=over.pk).update(status=Status.FAILED)

    # When I open the leaderboard
    response = client.get("/teams/")

    # Then the small team leads: 1 pledge per head against 0.4
    rows = response.context["rows"]
    assert [(r.name, r.members, r.participants, r.pledges, r.per_head) for r in rows] == [
        ("Small", 2, 1, 2, Decimal("1.00")),
        ("Large", 10, 4, 4, Decimal("0.40")),
    ]

    # And for one challenge, the standings are the challenge's own
    response = client.get(f"/teams/?challenge={first.pk}")
    assert response.context["challenge"] == first
    standings = selectors.challenge_team_standings(first)
    assert list(response.context["rows"]) == standings
    assert [(r.name, r.per_head) for r in standings] == [
        ("Small", Decimal("0.50")),
        ("Large", Decimal("0.40")),
    ]
