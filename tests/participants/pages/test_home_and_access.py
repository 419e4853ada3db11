"""Home, and who reaches the participant pages: signed out, drafts, another organisation's ids, an admin."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.roles import ORG_ADMIN
from challenges import services
from challenges.models import Challenge, Pledge, Team, TeamMembership
from tests.factories import ChallengeFactory, TeamFactory, UserFactory
from tests.participants.pages.support import PARTICIPANT_GETS, Status, _follow, _messages, _state

pytestmark = pytest.mark.django_db


# Sign-in, drafts and other organisations ----------------------------------------------------------


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
