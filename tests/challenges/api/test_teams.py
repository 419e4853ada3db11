"""The teams API: who lists, creates, renames and deletes teams, and what a participant sees of them."""

import pytest
from django_tenants.utils import tenant_context

from accounts.roles import EXECUTIVE, PARTICIPANT
from challenges import services
from challenges.models import Team
from tests.api import V1, api_client, patch, post
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


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


def test_an_admin_sees_the_captain_e_mail(admin, pat_participant):
    TeamFactory.create(name="Logistics", captain=pat_participant)

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
