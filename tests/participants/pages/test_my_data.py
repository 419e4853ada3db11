"""My data: the export holds everything about me and nothing of others; erasure keeps every total."""

import datetime as dt
import html
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, Notification, User
from accounts.roles import ORG_ADMIN, PARTICIPANT
from challenges import selectors, services
from challenges.models import Challenge, Contribution, Pledge, Team, TeamMembership
from participants import selectors as participant_selectors
from participants import services as participant_services
from participants.models import SignInLink
from tenants.models import Organization
from tests.factories import ChallengeFactory, TeamFactory, UserFactory
from tests.participants.pages.support import _follow, _messages, _quantity_challenge, _state

pytestmark = pytest.mark.django_db


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
