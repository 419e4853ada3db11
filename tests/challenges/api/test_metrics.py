"""The metrics API: admins create custom metrics with their impact factors; participants read them."""

from decimal import Decimal

import pytest

from challenges.models import Metric
from tests.api import V1, api_client, post

pytestmark = pytest.mark.django_db


# Metrics ----------------------------------------------------------------------------------------


def test_an_admin_creates_a_custom_metric_with_its_factors(admin):
    response = post(
        api_client(admin),
        f"{V1}/metrics/",
        {
            "name_en": "Kilometres carpooled",
            "unit_en": "km",
            "daily_cap": "80",
            "baseline_factor": "transport_car_thermal",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"] == "kilometres-carpooled"
    assert body["name_fr"] == "Kilometres carpooled"
    assert body["unit_fr"] == "km"
    assert body["daily_cap"] == "80.00"
    assert body["is_builtin"] is False
    assert body["baseline_factor"]["key"] == "transport_car_thermal"
    assert body["action_factor"] is None
    assert Decimal(body["kg_co2e_avoided_per_unit"]) > 0


def test_a_metric_with_an_action_factor_and_no_baseline_is_refused(admin):
    before = Metric.objects.count()

    response = post(
        api_client(admin),
        f"{V1}/metrics/",
        {"name_en": "Bike km", "unit_en": "km", "daily_cap": "80", "action_factor": "transport_bike"},
    )

    assert response.status_code == 400
    assert response.json() == {"baseline_factor": ["An action factor needs the baseline it replaces."]}
    assert Metric.objects.count() == before


def test_a_participant_reads_metrics_but_cannot_create_one(participant):
    before = Metric.objects.count()
    client = api_client(participant)

    listed = client.get(f"{V1}/metrics/")
    created = post(client, f"{V1}/metrics/", {"name_en": "Mine", "unit_en": "km", "daily_cap": "1"})

    assert listed.status_code == 200
    assert listed.json()["count"] == before
    assert created.status_code == 403
    assert Metric.objects.count() == before
