"""The participant pages: home, a challenge and its actions (pledge, offer, withdraw, log, confirm), my
activity, my team, teams, privacy, my data (export, erasure), and the widget intranets frame.

Every action is a POST answered by a redirect and a message; bad input comes back with the errors next
to the fields and writes nothing. The home page, the challenge page and the leaderboard issue the same
number of queries with 10 rows as with 1,000.
"""

import datetime as dt
import html
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import ApiToken, Notification, User
from accounts.roles import ORG_ADMIN, PARTICIPANT
from challenges import selectors, services
from challenges.models import (
    Challenge,
    Contribution,
    Metric,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from participants import selectors as participant_selectors
from participants import services as participant_services
from participants import widget
from participants.models import JoinLink, SignInLink
from tenants.models import Organization
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

Status, GoalKind = Challenge.Status, Challenge.GoalKind

# Queries of each page, whatever the number of rows. Seven are the same on every page: the host's
# organisation (SET search_path, its domain, SET search_path), the session, the user and their
# permissions (their own, their groups', for the menu). Then the page's own reads:
# - home: a count, the page of challenges (with metric and counterpart), their skill slots, the
#   person's pledges to them, the person's team;
# - the challenge page: the challenge (with metric and counterpart), its skill slots, the person's
#   pledge, the teams with member counts and the pledges per team (plus the quantities per team for a
#   quantity goal), the person's team, and, unless the goal counts pledges, the person's total and
#   latest entries;
# - the leaderboard: the challenges to choose from, the person's team, the teams with member counts,
#   the pledges per team; for one challenge, the challenge and its skill slots come first, and its
#   standings replace the overall ones (plus the quantities per team for a quantity goal).
BASE_QUERIES = 7
HOME_QUERIES = BASE_QUERIES + 5
CHALLENGE_PAGE_QUERIES = {
    GoalKind.PARTICIPANTS: BASE_QUERIES + 6,
    GoalKind.QUANTITY: BASE_QUERIES + 9,
    GoalKind.SKILLS: BASE_QUERIES + 8,
}
LEADERBOARD_QUERIES = BASE_QUERIES + 4
LEADERBOARD_CHALLENGE_QUERIES = BASE_QUERIES + 6


# Given: people and the state of things ------------------------------------------------------------


@pytest.fixture
def participant(in_org_a: Organization) -> User:
    return UserFactory.create(email="paula@alpha.test", display_name="Paula Pledger", role=PARTICIPANT)


@pytest.fixture
def client(client_a: Client, participant: User) -> Client:
    """Organisation A's host, signed in as the participant."""
    client_a.force_login(participant)
    return client_a


def _km() -> Metric:
    return Metric.objects.get(key="km-cycled")


def _quantity_challenge(**fields: Any) -> Challenge:
    defaults: dict[str, Any] = {"goal_kind": GoalKind.QUANTITY, "goal_target": Decimal(1000), "metric": _km()}
    return ChallengeFactory.create(**{**defaults, **fields})


def _skills_challenge(**fields: Any) -> tuple[Challenge, SkillSlot, SkillSlot]:
    challenge = ChallengeFactory.create(goal_kind=GoalKind.SKILLS, goal_target=None, **fields)
    design = SkillSlot.objects.create(challenge=challenge, skill="Design", count=2, hours=Decimal(10))
    accounting = SkillSlot.objects.create(challenge=challenge, skill="Accounting", count=1)
    return challenge, design, accounting


def _state() -> dict[str, Any]:
    """Everything a participant action may write, to assert that a refused or bad request wrote nothing."""
    return {
        "challenges": list(
            Challenge.objects.order_by("pk").values_list(
                "pk", "status", "pledge_count", "quantity_total", "succeeded_at"
            )
        ),
        "pledges": list(
            Pledge.objects.order_by("pk").values_list(
                "pk", "user", "team", "skill_slot", "withdrawn_at", "confirmed_at"
            )
        ),
        "contributions": list(Contribution.objects.order_by("pk").values_list("pk", "amount", "day", "note")),
        "slots": list(SkillSlot.objects.order_by("pk").values_list("pk", "filled_count", "filled_hours")),
        "memberships": list(TeamMembership.objects.order_by("pk").values_list("user", "team")),
        "users": list(
            User.objects.order_by("pk").values_list("pk", "email", "display_name", "show_name", "language")
        ),
    }


def _search(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return match


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _follow(client: Client, path: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(path, data or {}, follow=True)


def _csp(response: Any) -> dict[str, str]:
    """The Content-Security-Policy header, as directive -> sources."""
    directives = (part.strip() for part in response["Content-Security-Policy"].split(";"))
    return {name: rest for name, _, rest in (d.partition(" ") for d in directives if d)}


# Sign-in, drafts and other organisations ----------------------------------------------------------

PARTICIPANT_GETS = ["/me/", "/me/team/", "/me/privacy/", "/me/data/", "/me/data/export.json", "/teams/"]


def test_signed_out_visitors_see_the_public_intro_and_are_sent_to_sign_in_elsewhere(client_a, in_org_a):
    # Given an open challenge
    challenge = ChallengeFactory.create(title="Bike to work")
    team = TeamFactory.create()

    # When someone signed out opens the home page
    response = client_a.get("/")

    # Then they see the organisation's intro and how to sign in, and no challenge
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alpha Corp" in page
    assert "Sign in to take part" in page
    assert 'href="/account/sign-in/"' in page
    assert "Bike to work" not in page
    # And every other participant page sends them to sign in
    paths = [*PARTICIPANT_GETS, f"/challenges/{challenge.pk}/", f"/teams/{team.pk}/"]
    for path in paths:
        response = client_a.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/sign-in/?next="), path
    for action in ("pledge", "offer", "withdraw", "contribute", "confirm"):
        assert client_a.post(f"/challenges/{challenge.pk}/{action}/").status_code == 302
    assert client_a.post("/me/data/erase/", {"confirm": "on"}).status_code == 302
    assert Pledge.objects.count() == 0


def test_drafts_are_404_for_participants_on_every_page_and_action(client, participant):
    # Given a draft
    draft = ChallengeFactory.create(status=Status.DRAFT, title="Secret plan")
    before = _state()

    # Then its page, its actions and its widget do not exist
    assert client.get(f"/challenges/{draft.pk}/").status_code == 404
    for action in ("pledge", "offer", "withdraw", "contribute", "confirm"):
        assert client.post(f"/challenges/{draft.pk}/{action}/").status_code == 404, action
    anonymous = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}")
    assert anonymous.get(f"/embed/challenges/{draft.pk}/").status_code == 404
    assert client.get(f"/teams/?challenge={draft.pk}").context["challenge"] is None
    # And it is neither listed nor offered anywhere
    assert b"Secret plan" not in client.get("/").content
    assert b"Secret plan" not in client.get("/teams/").content
    assert _state() == before


def test_the_ids_of_another_organisation_are_404_on_this_host(org_b, client, participant):
    # Given a challenge and a team in organisation B, whose ids A does not have
    with tenant_context(org_b):
        theirs = ChallengeFactory.create(title="Beta only")
        their_team = TeamFactory.create(name="Beta team")
        ids = (theirs.pk, their_team.pk)
    # (A may have rows with the same ids: make sure it does not, so that only B's could answer)
    Challenge.objects.filter(pk=ids[0]).delete()
    Team.objects.filter(pk=ids[1]).delete()

    # Then on A's host, B's ids are unknown
    assert client.get(f"/challenges/{theirs.pk}/").status_code == 404
    assert client.post(f"/challenges/{theirs.pk}/pledge/").status_code == 404
    assert client.get(f"/teams/{their_team.pk}/").status_code == 404
    assert client.get(f"/embed/challenges/{theirs.pk}/").status_code == 404
    assert client.post("/me/team/", {"team": their_team.pk}).status_code == 200
    assert not TeamMembership.objects.filter(user=participant).exists()
    with tenant_context(org_b):
        assert Pledge.objects.filter(challenge_id=theirs.pk).count() == 0


# Home ---------------------------------------------------------------------------------------------


def test_home_lists_the_challenges_to_join_with_progress_and_what_i_pledged(client, participant):
    # Given challenges in every state, one of which I pledged to
    pledged = ChallengeFactory.create(title="Organic Tuesday", goal_target=Decimal(4))
    services.pledge_create(actor=participant, challenge_id=pledged.pk)
    ChallengeFactory.create(title="Bike to work")
    won = ChallengeFactory.create(title="Already won", status=Status.SUCCEEDED)
    ChallengeFactory.create(title="A draft", status=Status.DRAFT)
    ChallengeFactory.create(title="Called off", status=Status.CANCELLED)
    ChallengeFactory.create(
        title="Long over",
        starts_at=timezone.now() - dt.timedelta(days=20),
        deadline=timezone.now() - dt.timedelta(days=1),
    )

    # When I open the home page
    response = client.get("/")

    # Then the challenges I can still join are listed, nearest deadline first, with their progress
    assert response.status_code == 200
    titles = [card["challenge"].title for card in response.context["cards"]]
    assert sorted(titles) == ["Already won", "Bike to work", "Organic Tuesday"]
    page = response.content.decode()
    assert "1 of 4 participants (25 %)" in page
    # And the one I pledged to says so
    card = next(c for c in response.context["cards"] if c["challenge"].pk == pledged.pk)
    assert card["pledge"] is not None
    assert "You pledged." in page
    assert next(c for c in response.context["cards"] if c["challenge"].pk == won.pk)["pledge"] is None
    # And since I have no team yet, I am asked to choose one
    assert "Choose your team" in page
    assert '<html lang="en">' in page


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


# My data: export and erasure ----------------------------------------------------------------------


def _person_with_everything(name: str, team: Team, challenge: Challenge, quantity: Challenge) -> User:
    person = UserFactory.create(email=f"{name.lower()}@alpha.test", display_name=name, role=PARTICIPANT)
    services.team_join(actor=person, team=team)
    services.pledge_create(actor=person, challenge_id=challenge.pk)
    services.contribution_create(
        actor=person,
        challenge_id=quantity.pk,
        day=timezone.localdate(),
        amount=Decimal(7),
        note=f"note by {name}",
    )
    Notification.objects.create(
        user=person, recipient=person.email, event=f"challenge:{challenge.pk}:goal_reached"
    )
    return person


@pytest.fixture
def world(participant: User) -> dict[str, Any]:
    """Two teams, a participants challenge and a quantity one; me and Bob with pledges, entries,
    notifications; me with an API token and a sign-in link."""
    finance, sales = TeamFactory.create(name="Finance"), TeamFactory.create(name="Sales")
    organic = ChallengeFactory.create(title="Organic Tuesday", goal_target=Decimal(50))
    bike = _quantity_challenge(title="Bike to work", starts_at=timezone.now() - dt.timedelta(days=2))
    services.team_join(actor=participant, team=finance)
    services.pledge_create(actor=participant, challenge_id=organic.pk)
    services.contribution_create(
        actor=participant, challenge_id=bike.pk, day=timezone.localdate(), amount=Decimal(12), note="my ride"
    )
    Notification.objects.create(
        user=participant, recipient=participant.email, event=f"challenge:{organic.pk}:deadline_at_risk"
    )
    ApiToken.objects.create(
        name="My script",
        prefix="ca_abc",
        key_hash="0" * 64,
        user=participant,
        expires_at=timezone.now() + dt.timedelta(days=30),
    )
    SignInLink.objects.create(
        key_hash="1" * 64, email=participant.email, expires_at=timezone.now() + dt.timedelta(minutes=15)
    )
    bob = _person_with_everything("Bob", sales, organic, bike)
    return {"finance": finance, "sales": sales, "organic": organic, "bike": bike, "bob": bob}


def test_the_export_holds_everything_about_me_and_nothing_of_anyone_else(client, participant, world):
    # When I download my data
    response = client.get("/me/data/export.json")

    # Then it is a JSON attachment, not kept by caches
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="crowdact-alpha-my-data-')
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    # With my profile, team, pledges, entries, notifications, tokens and sign-in links
    assert data["organization"] == {"name": "Alpha Corp", "slug": "alpha"}
    assert data["profile"]["email"] == "paula@alpha.test"
    assert data["profile"]["display_name"] == "Paula Pledger"
    assert data["profile"]["show_name"] is False
    assert data["profile"]["roles"] == [PARTICIPANT]
    assert data["team"]["name"] == "Finance"
    assert [p["challenge"] for p in data["pledges"]] == ["Organic Tuesday", "Bike to work"]
    assert [(c["challenge"], c["amount"], c["unit"], c["note"]) for c in data["contributions"]] == [
        ("Bike to work", "12", "km", "my ride")
    ]
    assert [n["event"] for n in data["notifications"]] == [
        f"challenge:{world['organic'].pk}:deadline_at_risk"
    ]
    assert [t["name"] for t in data["api_tokens"]] == ["My script"]
    assert "key_hash" not in json.dumps(data)
    assert len(data["sign_in_links"]) == 1
    # And nothing of Bob
    text = response.content.decode()
    assert "bob@alpha.test" not in text
    assert "note by Bob" not in text
    assert "Sales" not in text
    # And the same as the service says (give or take the time of export)
    expected = participant_selectors.user_data_export(participant, _organization())
    assert {k: v for k, v in data.items() if k != "exported_at"} == {
        k: v for k, v in expected.items() if k != "exported_at"
    }


def test_erasing_needs_the_confirmation_box_and_without_it_changes_nothing(client, participant, world):
    before = _state()

    response = client.post("/me/data/erase/", {})

    assert response.status_code == 200
    assert response.context["form"].errors["confirm"] == [
        "Tick the box to confirm that you want to erase your account."
    ]
    assert 'aria-describedby="id_confirm_error"' in response.content.decode()
    assert _state() == before
    assert client.get("/me/").status_code == 200


def _organization() -> Organization:
    from tenants.selectors import current_organization

    return current_organization()


def _totals() -> dict[str, Any]:
    return {
        "challenges": list(
            Challenge.objects.order_by("pk").values_list("pk", "pledge_count", "quantity_total")
        ),
        "standings": [selectors.challenge_team_standings(c) for c in Challenge.objects.order_by("pk")],
        "leaderboard": selectors.team_standings(selectors.challenges_taking_part_ids()),
        "pledges": Pledge.objects.count(),
        "contributions": list(
            Contribution.objects.order_by("pk").values_list("pk", "amount", "team", "user")
        ),
        "memberships": list(TeamMembership.objects.order_by("pk").values_list("pk", "team", "user")),
    }


def test_the_only_admin_cannot_erase_themselves_and_nothing_changes(client_a, in_org_a):
    admin = User.objects.get(email="admin@alpha.test")  # the organisation's first and only admin
    admin.set_password("correct-horse-battery")
    admin.save()
    client_a.force_login(admin)

    response = client_a.post("/me/data/erase/", {"confirm": "on"})

    assert response.status_code == 200
    assert "You are this organisation's only admin" in html.unescape(response.content.decode())
    admin.refresh_from_db()
    assert admin.erased_at is None
    assert admin.is_active
    assert admin.groups.filter(name=ORG_ADMIN).exists()
    # With a second admin, the first may go
    UserFactory.create(role=ORG_ADMIN)
    assert client_a.post("/me/data/erase/", {"confirm": "on"}).status_code == 302
    admin.refresh_from_db()
    assert admin.erased_at is not None


def test_erasing_my_account_keeps_every_total_and_removes_what_identifies_me(
    client, client_a, participant, world
):
    # Given a second session of mine (my phone) and the totals before
    phone = Client(HTTP_HOST=client_a.defaults["HTTP_HOST"])
    phone.force_login(participant)
    totals_before = _totals()
    bob_export_before = participant_selectors.user_data_export(world["bob"], _organization())
    old_email = participant.email

    # When I erase my account
    response = _follow(client, "/me/data/erase/", {"confirm": "on"})

    # Then I am signed out, told so, on the public home page
    assert response.redirect_chain == [("/", 302)]
    assert _messages(response) == ["Your account is erased. Thank you for taking part."]
    assert "Sign in to take part" in response.content.decode()
    # And every total, standing and row that counts is unchanged
    assert _totals() == totals_before
    # And what identified me is gone
    person = User.objects.get(pk=participant.pk)
    assert re.fullmatch(r"erased-[0-9a-f]{32}@invalid", person.email)
    assert (person.display_name, person.show_name, person.language) == ("", False, "")
    assert person.erased_at is not None
    assert not person.is_active
    assert not person.has_usable_password()
    assert not person.groups.exists()
    assert not User.objects.filter(email=old_email).exists()
    assert not Contribution.objects.filter(user=person).exclude(note="").exists()
    assert not Notification.objects.filter(user=person).exists()
    assert not ApiToken.objects.filter(user=person).exists()
    assert not SignInLink.objects.filter(email=old_email).exists()
    sessions = [s.get_decoded().get(SESSION_KEY) for s in Session.objects.all()]
    assert str(person.pk) not in sessions
    # And I cannot come back in: not with my old session, not with my password
    assert phone.get("/me/").status_code == 302
    comeback = Client(HTTP_HOST=client_a.defaults["HTTP_HOST"])
    refused = comeback.post("/account/sign-in/", {"username": old_email, "password": "correct-horse-battery"})
    assert refused.status_code == 200
    assert comeback.get("/me/").status_code == 302
    # And others are untouched
    bob_export_after = participant_selectors.user_data_export(world["bob"], _organization())
    assert bob_export_after.pop("exported_at") >= bob_export_before.pop("exported_at")
    assert bob_export_after == bob_export_before
    # And the team still counts me, anonymously
    page = Client(HTTP_HOST=client_a.defaults["HTTP_HOST"])
    page.force_login(world["bob"])
    team_page = page.get(f"/teams/{world['finance'].pk}/")
    assert team_page.context["summary"].members == 1
    assert "Paula" not in team_page.content.decode()


def test_erasing_twice_changes_nothing_more(participant, world):
    first = participant_services.person_erase(actor=participant)
    email, erased_at = first.email, first.erased_at

    again = participant_services.person_erase(actor=participant)

    assert (again.email, again.erased_at) == (email, erased_at)


def test_an_erased_captain_no_longer_leads_the_team(participant, world):
    world["finance"].captain = participant
    world["finance"].save()

    participant_services.person_erase(actor=participant)

    world["finance"].refresh_from_db()
    assert world["finance"].captain is None


# The widget and the framing rules -----------------------------------------------------------------


@pytest.fixture
def anonymous(client_a: Client, in_org_a: Organization) -> Client:
    return client_a


def _embed_origins(organization: Organization, origins: list[str]) -> None:
    organization.embed_origins = origins
    organization.save(update_fields=["embed_origins"])


def test_the_widget_is_public_and_only_the_listed_intranets_may_frame_it(anonymous, org_a):
    # Given an organisation that lists its intranets, and an open challenge
    _embed_origins(org_a, ["https://intranet.alpha.example", "https://portal.alpha.example:8443/home/"])
    challenge = ChallengeFactory.create(title="Organic Tuesday", goal_target=Decimal(4))

    # When an intranet frames the widget (nobody is signed in there)
    response = anonymous.get(f"/embed/challenges/{challenge.pk}/")

    # Then it shows the title, the progress and a button that opens the challenge in the whole window
    assert response.status_code == 200
    page = response.content.decode()
    assert "Organic Tuesday" in page
    assert "0 of 4 participants (0 %)" in page
    assert f'href="/challenges/{challenge.pk}/" target="_top"' in page
    # And only those origins may frame it: no X-Frame-Options, frame-ancestors lists them
    assert "X-Frame-Options" not in response
    assert (
        _csp(response)["frame-ancestors"]
        == "https://intranet.alpha.example https://portal.alpha.example:8443"
    )
    assert _csp(response)["default-src"] == "'self'"


def test_the_widget_of_an_organisation_without_intranets_may_be_framed_by_nobody(anonymous, org_a):
    _embed_origins(org_a, [])
    challenge = ChallengeFactory.create()

    response = anonymous.get(f"/embed/challenges/{challenge.pk}/")

    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert _csp(response)["frame-ancestors"] == "'none'"


def test_nothing_stored_in_embed_origins_can_add_to_the_policy():
    assert widget.embed_frame_ancestors(
        [
            "https://ok.example/path;script-src *",
            "javascript:alert(1)",
            "https://u:p@x.example",
            " HTTPS://Ok.Example ",
        ]
    ) == ["https://ok.example"]


def _widget_button(client: Client, challenge: Challenge) -> str:
    page = client.get(f"/embed/challenges/{challenge.pk}/").content.decode()
    return _search(r'<a class="button primary big" href="([^"]+)" target="_top">', page).group(1)


def test_the_widget_shows_no_join_token_unless_an_admin_chose_one_for_it(anonymous):
    # Given join links for the whole organisation and for this very challenge
    challenge = ChallengeFactory.create()
    organization_link = JoinLink.objects.create(token="organisation-wide-secret")
    JoinLink.objects.create(token="challenge-link-secret", challenge=challenge)

    # When anyone reads the widget
    page = anonymous.get(f"/embed/challenges/{challenge.pk}/").content.decode()

    # Then its button opens the challenge page, and no token is in the page
    assert _widget_button(anonymous, challenge) == f"/challenges/{challenge.pk}/"
    assert "/join/" not in page
    assert organization_link.token not in page
    assert "challenge-link-secret" not in page


def test_the_widget_button_joins_through_the_link_an_admin_chose_until_it_is_revoked(anonymous):
    from participants.services import join_link_path, widget_update

    admin = UserFactory.create(role=ORG_ADMIN)
    challenge = ChallengeFactory.create()
    link = JoinLink.objects.create(token="widget-link", challenge=challenge)

    widget_update(actor=admin, challenge_id=challenge.pk, join_link_id=link.pk)

    assert _widget_button(anonymous, challenge) == join_link_path(link)
    JoinLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    assert _widget_button(anonymous, challenge) == f"/challenges/{challenge.pk}/"


def test_a_widget_takes_only_an_active_join_link_made_for_its_challenge(in_org_a):
    from django.core.exceptions import PermissionDenied, ValidationError

    from participants.models import Widget
    from participants.services import widget_update

    admin = UserFactory.create(role=ORG_ADMIN)
    challenge, other = ChallengeFactory.create(), ChallengeFactory.create()
    organization_link = JoinLink.objects.create(token="organisation-wide")
    other_link = JoinLink.objects.create(token="other-challenge", challenge=other)
    expired = JoinLink.objects.create(
        token="expired", challenge=challenge, expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    for link in (organization_link, other_link, expired):
        with pytest.raises(ValidationError) as refused:
            widget_update(actor=admin, challenge_id=challenge.pk, join_link_id=link.pk)
        assert "join_link" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        widget_update(actor=UserFactory.create(), challenge_id=challenge.pk, join_link_id=None)
    assert not Widget.objects.exists()


def test_an_admin_chooses_the_widget_button_on_its_settings_page(client_a, in_org_a):
    admin = UserFactory.create(role=ORG_ADMIN)
    client_a.force_login(admin)
    challenge = ChallengeFactory.create(title="Bike week")
    link = JoinLink.objects.create(token="bike-week-link", label="Intranet news", challenge=challenge)

    page = client_a.get(f"/manage/challenges/{challenge.pk}/widget/").content.decode()
    assert f"/embed/challenges/{challenge.pk}/" in page
    assert "Intranet news" in page
    response = client_a.post(f"/manage/challenges/{challenge.pk}/widget/", {"join_link": str(link.pk)})

    assert response.status_code == 302
    assert _widget_button(client_a, challenge) == f"/join/{link.token}/"
    refused = client_a.post(f"/manage/challenges/{challenge.pk}/widget/", {"join_link": "999"})
    assert refused.status_code == 200
    assert _widget_button(client_a, challenge) == f"/join/{link.token}/"


def test_the_widget_of_a_finished_challenge_links_to_its_page_without_a_join_button(anonymous):
    challenge = ChallengeFactory.create(status=Status.CANCELLED)

    page = anonymous.get(f"/embed/challenges/{challenge.pk}/").content.decode()

    assert ">Join<" not in page
    assert f'href="/challenges/{challenge.pk}/" target="_top">See the challenge' in page


def test_every_other_page_refuses_to_be_framed_and_allows_only_its_own_files(client, participant):
    challenge = ChallengeFactory.create()
    team = TeamFactory.create()
    paths = [
        "/",
        f"/challenges/{challenge.pk}/",
        f"/teams/{team.pk}/",
        *PARTICIPANT_GETS,
        "/account/sign-in/",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["X-Frame-Options"] == "DENY", path
        policy = _csp(response)
        assert policy["frame-ancestors"] == "'none'", path
        assert policy["default-src"] == "'self'"
        assert policy["script-src"] == "'self'"
        assert policy["img-src"] == "'self' data:"
        assert policy["form-action"] == "'self'"
        assert policy["base-uri"] == "'self'"
        assert "unsafe-inline" not in response["Content-Security-Policy"], path
    # A redirect and a 404 carry the policy too
    assert _csp(client.get("/challenges/999999/"))["frame-ancestors"] == "'none'"


def test_the_brand_colour_comes_in_the_one_inline_style_the_policy_allows_by_its_nonce(client, org_a):
    response = client.get("/")

    page = response.content.decode()
    nonce = _search(r"'nonce-([^']+)'", _csp(response)["style-src"]).group(1)
    styles = re.findall(r"<style([^>]*)>([^<]*)</style>", page)
    assert styles == [(f' nonce="{nonce}"', f":root {{ --brand: {org_a.brand_color}; }}")]
    assert 'style="' not in page
    # A new nonce for every response
    assert _search(r"'nonce-([^']+)'", _csp(client.get("/"))["style-src"]).group(1) != nonce


def test_the_error_pages_inline_style_is_allowed_by_its_hash():
    import base64
    import hashlib
    from pathlib import Path

    template = (Path(settings.BASE_DIR) / "templates" / "plain.html").read_text()
    styles = re.findall(r"<style>(.*?)</style>", template, re.S)
    digests = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in styles
    }
    assert digests == {settings.PLAIN_PAGE_STYLE_HASH}
    policy: Any = settings.CONTENT_SECURITY_POLICY
    assert settings.PLAIN_PAGE_STYLE_HASH in policy["DIRECTIVES"]["style-src"]


def test_the_api_docs_page_alone_allows_its_inline_script_and_is_still_never_framed(client_a, in_org_a):
    response = client_a.get("/api/docs/")

    assert response.status_code == 200
    policy = _csp(response)
    assert policy["script-src"] == "'self' 'unsafe-inline'"
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert policy["frame-ancestors"] == "'none'"
    assert "<script>" in response.content.decode()
    assert response["X-Frame-Options"] == "DENY"


# Same number of queries with 10 or 1,000 rows -----------------------------------------------------


def _users(count: int, prefix: str) -> list[User]:
    return User.objects.bulk_create(User(email=f"{prefix}{i}@bulk.test", password="!") for i in range(count))


def _teams_with_members(count: int) -> tuple[list[Team], list[User]]:
    members = _users(count, "member")
    teams = Team.objects.bulk_create(Team(name=f"Team {i:04}") for i in range(count))
    TeamMembership.objects.bulk_create(
        TeamMembership(user=user, team=teams[i % count]) for i, user in enumerate(members)
    )
    return teams, members


@pytest.mark.parametrize("rows", [10, 1000])
def test_home_issues_the_same_queries_for_10_or_1000_challenges(
    client, participant, rows, django_assert_num_queries
):
    # Given challenges of every kind, with skill slots and counterparts, some pledged to
    now, metric = timezone.now(), _km()
    kinds = [GoalKind.PARTICIPANTS, GoalKind.QUANTITY, GoalKind.SKILLS]
    challenges = Challenge.objects.bulk_create(
        Challenge(
            title=f"Challenge {i}",
            category=Challenge.Category.ENVIRONMENT,
            status=Status.OPEN,
            goal_kind=kinds[i % 3],
            goal_target=None if kinds[i % 3] == GoalKind.SKILLS else Decimal(100),
            metric=metric if kinds[i % 3] == GoalKind.QUANTITY else None,
            starts_at=now - dt.timedelta(days=1),
            deadline=now + dt.timedelta(days=1 + i),
        )
        for i in range(rows)
    )
    SkillSlot.objects.bulk_create(
        SkillSlot(challenge=c, skill=skill, count=2)
        for c in challenges
        if c.goal_kind == GoalKind.SKILLS
        for skill in ("Design", "Accounting")
    )
    Pledge.objects.bulk_create(Pledge(challenge=c, user=participant) for c in challenges[::2])
    TeamMembership.objects.create(user=participant, team=TeamFactory.create())

    # When I open the home page
    with django_assert_num_queries(HOME_QUERIES):
        response = client.get("/")

    # Then it is there, one page of it, in the same number of queries
    assert response.status_code == 200
    assert len(response.context["cards"]) == min(rows, 50)
    assert sum(1 for card in response.context["cards"] if card["pledge"]) == (min(rows, 50) + 1) // 2


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("goal_kind", [GoalKind.PARTICIPANTS, GoalKind.QUANTITY, GoalKind.SKILLS])
def test_the_challenge_page_issues_the_same_queries_for_10_or_1000_pledges_entries_and_teams(
    client, participant, rows, goal_kind, django_assert_num_queries
):
    # Given a challenge with `rows` teams, pledges and entries (and skill slots), and mine among them
    now = timezone.now()
    challenge = ChallengeFactory.create(
        goal_kind=goal_kind,
        metric=_km() if goal_kind == GoalKind.QUANTITY else None,
        goal_target=None if goal_kind == GoalKind.SKILLS else Decimal(100_000),
        starts_at=now - dt.timedelta(days=5),
    )
    CounterpartFactory.create(challenge=challenge)
    teams, members = _teams_with_members(rows)
    slots = (
        SkillSlot.objects.bulk_create(
            SkillSlot(challenge=challenge, skill=f"Skill {i}", count=3) for i in range(rows)
        )
        if goal_kind == GoalKind.SKILLS
        else []
    )
    Pledge.objects.bulk_create(
        Pledge(challenge=challenge, user=user, team=teams[i], skill_slot=slots[i] if slots else None)
        for i, user in enumerate([participant, *members[1:]])
    )
    TeamMembership.objects.filter(user=members[0]).update(user=participant)
    if goal_kind != GoalKind.PARTICIPANTS:
        Contribution.objects.bulk_create(
            Contribution(
                challenge=challenge,
                user=participant if i % 2 else members[i],
                team=teams[i],
                skill_slot=slots[0] if slots else None,
                day=timezone.localdate() - dt.timedelta(days=i % 3),
                amount=Decimal(1),
            )
            for i in range(rows)
        )

    # When I open the challenge page
    with django_assert_num_queries(CHALLENGE_PAGE_QUERIES[goal_kind]):
        response = client.get(f"/challenges/{challenge.pk}/")

    # Then it is there, in the same number of queries
    assert response.status_code == 200
    assert len(response.context["standings"]) == 10
    assert response.context["pledge"] is not None
    if goal_kind != GoalKind.PARTICIPANTS:
        assert response.context["mine"].count == rows // 2


@pytest.mark.parametrize("rows", [10, 1000])
@pytest.mark.parametrize("goal_kind", [None, GoalKind.PARTICIPANTS, GoalKind.QUANTITY])
def test_the_leaderboard_issues_the_same_queries_for_10_or_1000_teams(
    client, participant, rows, goal_kind, django_assert_num_queries
):
    # Given `rows` teams with members, pledging to current challenges
    teams, members = _teams_with_members(rows)
    challenges = [
        ChallengeFactory.create(goal_kind=GoalKind.PARTICIPANTS),
        _quantity_challenge(starts_at=timezone.now() - dt.timedelta(days=2)),
    ]
    Pledge.objects.bulk_create(
        Pledge(challenge=challenges[i % 2], user=user, team=teams[i]) for i, user in enumerate(members)
    )
    Contribution.objects.bulk_create(
        Contribution(
            challenge=challenges[1], user=user, team=teams[i], day=timezone.localdate(), amount=Decimal(2)
        )
        for i, user in enumerate(members)
    )
    TeamMembership.objects.create(user=participant, team=teams[0])
    chosen = next((c for c in challenges if c.goal_kind == goal_kind), None)
    query = f"?challenge={chosen.pk}" if chosen else ""
    expected = LEADERBOARD_CHALLENGE_QUERIES if chosen else LEADERBOARD_QUERIES
    if goal_kind == GoalKind.QUANTITY:
        expected += 1  # the quantities per team

    # When I open the leaderboard
    with django_assert_num_queries(expected):
        response = client.get(f"/teams/{query}")

    # Then one page of teams is there, in the same number of queries
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(rows, 50)
    assert response.context["page"].paginator.count == rows


def test_a_page_number_past_the_end_shows_the_last_page(client, participant):
    ChallengeFactory.create(title="Only one")

    response = client.get("/?page=99")

    assert response.status_code == 200
    assert [c["challenge"].title for c in response.context["cards"]] == ["Only one"]


def test_an_admin_is_a_participant_too(client_a, in_org_a):
    admin = UserFactory.create(role=ORG_ADMIN)
    client_a.force_login(admin)
    challenge = ChallengeFactory.create()

    response = _follow(client_a, f"/challenges/{challenge.pk}/pledge/")

    assert _messages(response) == ["You pledged. It counts as soon as enough others join."]
    assert "Manage challenges" in response.content.decode()
