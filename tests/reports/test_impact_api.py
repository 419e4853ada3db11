"""GET /api/v1/impact/ and /api/v1/impact/export.csv: who may read them, their refusals, and answers
that match the OpenAPI document the organisation's host serves."""

import json

import pytest
from django.test import Client
from openapi_core import Config, OpenAPI
from openapi_core.deserializing.media_types.util import plain_loads
from openapi_core.testing import MockRequest, MockResponse

from accounts.models import ApiToken
from accounts.roles import EXECUTIVE, ORG_ADMIN
from accounts.tokens import api_token_create
from challenges.models import Challenge, Contribution, Pledge
from reports.exports import BOM, csv_read
from tests.api import V1, api_client
from tests.factories import UserFactory
from tests.reports.support import march_make
from tests.test_api_schema import HOST, SchemaClient

pytestmark = pytest.mark.django_db

MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.fixture
def march(in_org_a):
    return march_make(in_org_a)


def test_the_headline_figures_as_json(admin, march):
    response = api_client(admin).get(f"{V1}/impact/", MARCH)

    assert response.status_code == 200
    data = response.json()
    assert data["participants"] == 5
    assert data["participation_rate"] == "12.5"
    assert data["challenges_succeeded"] == 1
    assert data["co2e_avoided_kg"] == "12.23"
    assert data["volunteer_hours"] == "6.00"
    assert data["period"] == {
        "start": "2025-03-01", "end": "2025-03-31", "kind": "month", "days": 31, "name": "March 2025",
        "is_partial": False,
    }  # fmt: skip
    assert data["previous_period"]["start"] == "2025-02-01"
    assert data["previous"]["participants"] == 2
    assert data["previous"]["co2e_avoided_kg"] == "2.18"
    cycling = next(q for q in data["quantities"] if q["metric"] == "km-cycled")
    assert cycling == {
        "metric": "km-cycled", "name": "Kilometres cycled instead of driven", "unit": "km",
        "quantity": "35.00", "co2e_avoided_kg": "7.62", "estimate": False,
    }  # fmt: skip


def test_executives_read_it_and_participants_are_refused(in_org_a, participant, march):
    executive = UserFactory.create(email="board@alpha.test", role=EXECUTIVE)

    assert api_client(executive).get(f"{V1}/impact/", MARCH).status_code == 200
    for path in (f"{V1}/impact/", f"{V1}/impact/export.csv"):
        refused = api_client(participant).get(path, MARCH)
        assert refused.status_code == 403
        assert refused.json() == {"detail": "Only an organisation admin or an executive can read this."}
        assert api_client().get(path, MARCH).status_code == 401


def test_another_organisations_host_knows_nothing_of_a_token_or_session(org_a, org_b, march, admin):
    _, secret = api_token_create(actor=admin, name="Board pack", scope=ApiToken.Scope.READ)
    signed_in = api_client(admin)

    on_b = Client(HTTP_HOST="beta.localhost", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert on_b.get(f"{V1}/impact/", MARCH).status_code == 401
    session_on_b = Client(HTTP_HOST="beta.localhost")
    session_on_b.cookies["sessionid"] = signed_in.cookies["sessionid"].value
    assert session_on_b.get(f"{V1}/impact/", MARCH).status_code in (401, 403)


def test_a_read_token_gets_the_figures(admin, march):
    _, secret = api_token_create(actor=admin, name="Board pack", scope=ApiToken.Scope.READ)

    response = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {secret}").get(f"{V1}/impact/", MARCH)

    assert response.status_code == 200
    assert response.json()["participants"] == 5


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ({"start": "2025-03-31", "end": "2025-03-01"}, {"end": ["The end comes before the start."]}),
        ({"start": "2025-03-01"}, {"end": ["Give both the start and the end of the period."]}),
        (
            {"start": "March", "end": "2025-02-30"},
            {
                "start": ["Enter a date as YYYY-MM-DD, for example 2026-03-31."],
                "end": ["Enter a date as YYYY-MM-DD, for example 2026-03-31."],
            },
        ),
        ({"start": "1990-01-01", "end": "1990-01-31"}, {"start": ["Choose a start from 1 January 2000."]}),
    ],
)
def test_bad_dates_are_a_400_with_a_message_per_field_and_change_nothing(admin, march, query, errors):
    before = (Challenge.objects.count(), Pledge.objects.count(), Contribution.objects.count())

    for path, accept in ((f"{V1}/impact/", "application/json"), (f"{V1}/impact/export.csv", "text/csv")):
        response = api_client(admin).get(path, query, HTTP_ACCEPT=accept)
        assert response.status_code == 400, path
        assert response["Content-Type"] == "application/json"
        assert response.json() == errors

    assert (Challenge.objects.count(), Pledge.objects.count(), Contribution.objects.count()) == before


def test_without_dates_the_last_full_month(admin, march):
    data = api_client(admin).get(f"{V1}/impact/").json()

    assert data["period"]["kind"] == "month"
    assert data["period"]["is_partial"] is False


def test_the_csv_through_the_api_is_the_dashboards(admin, march):
    client = api_client(admin)

    from_api = client.get(f"{V1}/impact/export.csv", MARCH, HTTP_ACCEPT="text/csv")
    from_page = client.get("/manage/impact/export.csv", MARCH)

    assert from_api.status_code == 200
    assert from_api["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in from_api["Content-Disposition"]
    assert from_api.content.decode().startswith(BOM)
    blocks = csv_read(from_api.content.decode(), "en")
    assert {row["Key"]: row["Value"] for row in blocks["Summary"]}["participants"] == "5"
    # the same file but for the moment it was made
    strip = [line for line in from_page.content.decode().splitlines() if "Made on" not in line]
    assert [line for line in from_api.content.decode().splitlines() if "Made on" not in line] == strip


def test_the_answers_match_the_openapi_document(in_org_a, march):
    spec = json.loads(Client(HTTP_HOST=HOST).get("/api/schema/", {"format": "json"}).content)
    admin = UserFactory.create(email="schema.impact@alpha.test", role=ORG_ADMIN)
    _, secret = api_token_create(actor=admin, name="Generated client", scope=ApiToken.Scope.READ)
    api = SchemaClient(spec, secret)

    data = api.call("impact_retrieve", expect=200, query=MARCH)
    api.call("impact_retrieve", expect=200)
    api.call("impact_retrieve", expect=400, query={"start": "2025-03-31", "end": "2025-03-01"})
    api.call("impact_export", expect=400, query={"start": "2025-03-31", "end": "2025-03-01"})
    csv_answer = api.client.get(f"{V1}/impact/export.csv", MARCH)
    # the CSV answer too (SchemaClient reads JSON bodies), by hand; openapi-core reads text/csv as
    # text once told to (it knows text/plain and text/html only)
    openapi = OpenAPI.from_dict(spec, config=Config(extra_media_type_deserializers={"text/csv": plain_loads}))
    template = "/api/v1/impact/export.csv"
    request = MockRequest(
        f"http://{HOST}", "get", template, path_pattern=template, args=MARCH,
        headers={"Authorization": f"Bearer {secret}"},
    )  # fmt: skip
    openapi.validate_request(request)
    openapi.validate_response(
        request, MockResponse(csv_answer.content, 200, content_type=csv_answer["Content-Type"])
    )

    assert data["participants"] == 5
    assert {"impact_retrieve", "impact_export"} <= set(api.operations)
    assert spec["paths"]["/api/v1/impact/export.csv"]["get"]["responses"]["200"]["content"] == {
        "text/csv": {"schema": {"type": "string"}}
    }
    assert csv_answer.status_code == 200
    assert csv_answer["Content-Type"].startswith("text/csv")
