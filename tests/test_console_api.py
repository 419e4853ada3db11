"""The console in the API: /api/v1/organization/, /api/v1/people/, /api/v1/audit/."""

import pytest
from django.test import Client

from accounts.models import AuditEntry, User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from challenges.models import TeamMembership
from tenants.models import Organization
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


def _client(user: User) -> Client:
    client = Client(HTTP_HOST="alpha.localhost")
    client.force_login(user)
    return client


@pytest.fixture
def admin(in_org_a):
    return UserFactory.create(email="api.console@alpha.test", role=ORG_ADMIN)


def test_admins_and_executives_read_the_organisation_participants_do_not(admin, in_org_a):
    executive, participant = UserFactory.create(role=EXECUTIVE), UserFactory.create(role=PARTICIPANT)

    body = _client(admin).get(f"{V1}/organization/").json()

    assert body["slug"] == "alpha"
    assert {"brand_color", "headcount", "allowed_email_domains", "embed_origins", "logo"} <= set(body)
    assert _client(executive).get(f"{V1}/organization/").status_code == 200
    assert _client(participant).get(f"{V1}/organization/").status_code == 403


def test_an_admin_updates_the_organisation_with_a_message_per_bad_field(admin, org_a):
    client = _client(admin)

    refused = client.patch(
        f"{V1}/organization/",
        {"brand_color": "#FFFF00", "headcount": 0, "embed_origins": ["ftp://x"]},
        content_type="application/json",
    )
    changed = client.patch(f"{V1}/organization/", {"headcount": 1500}, content_type="application/json")

    assert refused.status_code == 400
    assert set(refused.json()) == {"headcount"}  # checked by the serializer first
    again = client.patch(
        f"{V1}/organization/",
        {"brand_color": "#FFFF00", "embed_origins": ["ftp://x"]},
        content_type="application/json",
    )
    assert again.status_code == 400
    assert set(again.json()) == {"brand_color", "embed_origins"}
    assert changed.status_code == 200
    assert changed.json()["headcount"] == 1500
    assert Organization.objects.get(pk=org_a.pk).headcount == 1500
    executive = UserFactory.create(role=EXECUTIVE)
    assert (
        _client(executive)
        .patch(f"{V1}/organization/", {"headcount": 1}, content_type="application/json")
        .status_code
        == 403
    )


def test_the_people_api_lists_with_filters_and_an_admin_changes_role_team_and_activity(admin):
    team = TeamFactory.create(name="Sales")
    person = UserFactory.create(email="api.person@alpha.test", role=PARTICIPANT)
    client = _client(admin)

    listed = client.get(f"{V1}/people/", {"role": "participant"}).json()
    changed = client.patch(
        f"{V1}/people/{person.pk}/",
        {"role": "executive", "team": team.pk, "is_active": False},
        content_type="application/json",
    )

    assert person.email in [row["email"] for row in listed["results"]]
    assert all(row["role"] == "participant" for row in listed["results"])
    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["team"]["name"], changed.json()["is_active"]) == (
        "executive",
        "Sales",
        False,
    )
    assert TeamMembership.objects.get(user=person).team == team
    assert set(AuditEntry.objects.filter(subject=person).values_list("kind", flat=True)) == {
        "role_changed",
        "team_changed",
        "person_deactivated",
    }


def test_the_last_active_admin_cannot_be_demoted_through_the_api(in_org_a):
    only = User.objects.get(email="admin@alpha.test")

    refused = _client(only).patch(
        f"{V1}/people/{only.pk}/", {"role": "participant"}, content_type="application/json"
    )

    assert refused.status_code == 400
    assert "role" in refused.json()
    assert only.groups.get().name == ORG_ADMIN


def test_the_audit_api_is_for_admins(admin):
    from challenges.services import team_create

    team_create(actor=admin, name="Audited")
    executive = UserFactory.create(role=EXECUTIVE)

    entries = _client(admin).get(f"{V1}/audit/").json()["results"]

    assert entries[0]["kind"] == "team_created"
    assert entries[0]["target"] == "Audited"
    assert _client(executive).get(f"{V1}/audit/").status_code == 403
