"""The executives' dashboard (/manage/impact/) and its CSV: who may read them, the period picker and
its refusals, what the page shows, and a number of queries that does not grow with the data."""

import re

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.roles import EXECUTIVE
from challenges.models import Challenge, Contribution, Pledge
from reports.exports import BOM, csv_read
from reports.periods import default_period
from tests.factories import UserFactory
from tests.reports.support import march_make, more_of_the_same

pytestmark = pytest.mark.django_db

MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


def counts():
    return (Challenge.objects.count(), Pledge.objects.count(), Contribution.objects.count())


@pytest.fixture
def march(in_org_a):
    return march_make(in_org_a)


def test_admins_and_executives_read_the_dashboard(admin_client, march):
    response = admin_client.get("/manage/impact/", MARCH)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Impact</h1>" in page
    assert "March 2025" in page
    assert "compared with February 2025" in page
    assert 'href="/manage/impact/" aria-current="page"' in page  # in the console's navigation
    for text in ("Headline figures", "Participation", "Teams", "Challenges", "Commitments", "Methodology"):
        assert f">{text}</h" in page, text
    assert "12.5 %" in page  # the rate
    assert "below the 15–29 % published for employee programmes" in page
    assert "https://alpha.test/shelters" in page  # the ledger's proof link
    assert "ADEME Impact CO2 / Base Empreinte" in page  # a factor's source
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg"') >= 4
    assert response["Cache-Control"].startswith("private")


def test_executives_read_it_too(client_a, in_org_a, march):
    client_a.force_login(UserFactory.create(email="board@alpha.test", role=EXECUTIVE))

    assert client_a.get("/manage/impact/", MARCH).status_code == 200
    assert client_a.get("/manage/impact/export.csv", MARCH).status_code == 200


def test_participants_are_refused_and_anonymous_visitors_sent_to_sign_in(participant_client, client_a, march):
    for path in ("/manage/impact/", "/manage/impact/export.csv"):
        assert participant_client.get(path).status_code == 403

    anonymous = Client(HTTP_HOST="alpha.localhost")
    response = anonymous.get("/manage/impact/")
    assert response.status_code == 302
    assert "/account/sign-in/" in response["Location"]


def test_only_get_is_answered(admin_client, march):
    assert admin_client.post("/manage/impact/", MARCH).status_code == 405


def test_without_a_period_the_dashboard_opens_on_the_last_full_month(admin_client, in_org_a):
    period = default_period(timezone.localdate())

    page = admin_client.get("/manage/impact/").content.decode()

    assert f"start={period.start.isoformat()}&amp;end={period.end.isoformat()}" in page
    assert 'aria-current="true">Last month</a>' in page


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"period": "month", "month": "2025-13"}, "month", "Enter a month as YYYY-MM"),
        ({"period": "month", "month": ""}, "month", "Choose a month."),
        ({"period": "quarter", "quarter": "1999-Q5"}, "quarter", "Select a valid choice"),
        ({"period": "year", "year": "1850"}, "year", "Select a valid choice"),
        (
            {"period": "custom", "start": "2025-03-31", "end": "2025-03-01"},
            "end",
            "The end comes before the start.",
        ),
        ({"period": "custom", "start": "2025-03-01"}, "end", "Give both the start and the end"),
        ({"start": "31/03/2025", "end": "2025-04-01"}, "start", "Enter a valid date."),
        ({"start": "2999-01-01", "end": "2999-01-31"}, "start", "after today"),
    ],
)
def test_a_bad_period_gets_a_message_next_to_its_field_and_changes_nothing(
    admin_client, march, query, field, message
):
    before = counts()

    response = admin_client.get("/manage/impact/", query)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    # next to the field: in its group, the field marked invalid, and linked from the summary on top
    group = re.search(rf'<div class="field">\s*<label for="id_{field}".*?</form>', page, re.S)
    assert group, page
    assert message in group.group(0)
    assert re.search(rf'<(input|select)[^>]*name="{field}"[^>]*aria-invalid="true"', page)
    assert f'href="#id_{field}"' in page
    assert "Headline figures" not in page  # no figures for a period that is not one
    assert counts() == before


def test_the_csv_is_a_spreadsheet_of_the_same_figures(admin_client, march):
    response = admin_client.get("/manage/impact/export.csv", MARCH)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="crowdact-alpha-impact-2025-03-01-2025-03-31.csv"'
    )
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    blocks = csv_read(text, "en")
    summary = {row["Key"]: row for row in blocks["Summary"]}
    assert summary["participants"]["Value"] == "5"
    assert summary["participants"]["Previous period"] == "2"
    assert summary["co2e_avoided_kg"]["Value"] == "12.23"
    assert {row["Team"] for row in blocks["Team"]} == {"Finance", "Logistics", "Research", "In no team"}
    assert len(blocks["Challenge"]) == 5
    assert {row["Metric"] for row in blocks["Metric"]} >= {"Kilometres cycled instead of driven"}
    assert blocks["Skill"][0]["Skill"] == "Carpentry"
    assert any(row["Proof link"] == "https://alpha.test/shelters" for row in blocks["Counterpart"])
    assert any(row["Key"] == "transport_car_thermal" for row in blocks["Factor"])


def test_the_csv_refuses_a_bad_period_like_the_page(admin_client, march):
    response = admin_client.get("/manage/impact/export.csv", {"start": "2025-03-31", "end": "2025-03-01"})

    assert response.status_code == 400
    assert "The end comes before the start." in response.content.decode()


def test_the_french_municipality_reads_its_dashboard_and_csv_in_french(client_b, org_b):
    from accounts.roles import ORG_ADMIN

    with tenant_context(org_b):
        client_b.force_login(UserFactory.create(email="maire@beta.test", role=ORG_ADMIN))
        response = client_b.get("/manage/impact/", MARCH)
        csv = client_b.get("/manage/impact/export.csv", MARCH)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="fr">' in page
    assert "mars 2025" in page
    assert "15–29 %" not in page  # no employee range for residents
    text = csv.content.decode("utf-8")
    assert text.startswith(BOM)
    assert ";" in text.splitlines()[0]


def test_the_page_takes_the_same_number_of_queries_whatever_the_data(
    admin_client, march, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    admin_client.get("/manage/impact/", MARCH)  # warm: sessions, permissions cache
    with CaptureQueriesContext(connection) as small:
        admin_client.get("/manage/impact/", MARCH)
    more_of_the_same(march, 25)

    with CaptureQueriesContext(connection) as large:
        response = admin_client.get("/manage/impact/", MARCH)

    assert response.status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(small.captured_queries) <= 16, [q["sql"][:80] for q in small.captured_queries]
