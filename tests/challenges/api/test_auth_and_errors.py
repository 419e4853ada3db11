"""The API without credentials, across organisations, and how its errors look (400, 404, 413)."""

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from challenges.models import Team
from tests.api import V1, api_client, post
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


# Authentication and errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/teams/", "/metrics/", "/challenges/", "/pledges/", "/contributions/", "/tokens/"]
)
def test_without_credentials_every_list_answers_401_in_json(in_org_a, path):
    response = api_client().get(V1 + path)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_body_that_is_not_json_gets_a_message_in_the_same_shape_as_other_400s(admin):
    response = api_client(admin).post(f"{V1}/teams/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert response.json()["non_field_errors"][0].startswith("JSON parse error")
    assert not Team.objects.exists()


def test_a_session_of_organisation_a_gets_nothing_from_organisation_b(org_a, org_b, admin):
    # given A's admin signed in on A, with a team in A
    TeamFactory.create(name="Alpha secret team")
    client_a = api_client(admin)
    assert client_a.get(f"{V1}/teams/").status_code == 200
    # when the same session cookie is sent to B's host
    client_b = Client(HTTP_HOST=f"beta.{settings.BASE_DOMAIN}")
    client_b.cookies["sessionid"] = client_a.cookies["sessionid"].value
    listed = client_b.get(f"{V1}/teams/")
    created = post(client_b, f"{V1}/teams/", {"name": "Planted by A"})

    # then B refuses it and nothing of A shows or changes in B
    assert listed.status_code == 401
    assert created.status_code == 401
    assert b"Alpha secret team" not in listed.content
    with tenant_context(org_b):
        assert not Team.objects.filter(name="Planted by A").exists()


@pytest.mark.parametrize("page_size", ["0", "201", "-1", "ten", "3.5", ""])
def test_a_page_size_that_is_not_one_is_refused_with_a_message(participant, page_size):
    response = api_client(participant).get(f"{V1}/challenges/", {"page_size": page_size})

    assert response.status_code == 400
    assert response.json() == {"page_size": ["A page holds 1 to 200 items."]}


@pytest.mark.parametrize(
    "path", [f"{V1}/no-such-thing/", f"{V1}/challenges/abc/", "/api/v2/", "/api/v1/challenges/1/nothing/"]
)
def test_an_unknown_api_address_answers_json_like_every_other_api_error(participant, path):
    response = api_client(participant).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_a_body_too_large_answers_413_in_json(admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = post(api_client(admin), f"{V1}/teams/", {"name": "x" * 2000})

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large."}
    assert not Team.objects.filter(name="x" * 2000).exists()
