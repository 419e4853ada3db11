"""The team pages: the list with member counts and captains, creating, renaming and deleting a team."""

import re

import pytest

from challenges.models import Team
from tests.challenges.manage.support import _error_next_to, _member, _messages, _page, _state
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


# Teams ----------------------------------------------------------------------------------------------


def test_the_team_list_shows_each_team_with_its_member_count_and_captain(admin_client):
    team = TeamFactory.create(name="Logistics", kind=Team.Kind.SITE)
    captain = _member(team, email="carla@alpha.test", display_name="Carla Captain", show_name=True)
    _member(team)
    team.captain = captain
    team.save()
    quiet = TeamFactory.create(name="Finance")
    quiet.captain = _member(quiet, email="quinn@alpha.test", display_name="Quinn Quiet", show_name=False)
    quiet.save()
    TeamFactory.create(name="Sales")

    response = admin_client.get("/manage/teams/")

    # Each captain is named as everywhere else: the name only if they chose to show it
    page = _page(response)
    assert response.status_code == 200
    assert re.search(
        r"Logistics</th>\s*<td>Site</td>\s*<td>Carla Captain <carla@alpha.test></td>\s*<td[^>]*>2</td>", page
    )
    assert re.search(
        r"Finance</th>\s*<td>Department</td>\s*<td>quinn@alpha.test</td>\s*<td[^>]*>1</td>", page
    )
    assert "Quinn Quiet" not in page
    assert re.search(r"Sales</th>\s*<td>Department</td>\s*<td>—</td>\s*<td[^>]*>0</td>", page)
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
