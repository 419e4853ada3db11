"""The catalogue file, checked on load, and `stripe_sync_catalog`, which makes Stripe match it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from billing.catalogue import CATALOGUE_PATH, CatalogueError, catalogue, catalogue_load, catalogue_parse
from billing.services import catalogue_sync
from tenants.models import Organization
from tests.billing.conftest import API_KEY, LocalStripe, closed_port_url, start_local_stripe

LOOKUP_KEYS = [
    "business_base_monthly",
    "business_active_participant",
    "municipality_yearly",
    "service_workshop",
    "service_facilitation_day",
    "service_reviewed_report",
]


def test_the_catalogue_has_the_plans_of_organizations_and_the_lookup_keys_the_product_uses():
    spec = catalogue()
    assert set(spec.plans) == set(Organization.Plan.values)
    assert spec.lookup_keys() == LOOKUP_KEYS
    discovery, business, municipality = (spec.plan(k) for k in ("discovery", "business", "municipality"))
    assert (discovery.paid, discovery.limits.open_challenges, discovery.limits.active_participants) == (
        False,
        1,
        50,
    )
    assert (business.limits.open_challenges, business.limits.active_participants) == (None, None)
    assert business.metered_price is not None
    assert business.metered_price.lookup_key == "business_active_participant"
    assert (municipality.subscribe, municipality.prices[0].interval) == ("invoice", "year")
    assert all(s.price.interval == "one_off" for s in spec.services.values())
    assert spec.services["workshop"].name.get("fr") == "Atelier de conception de défi"
    assert spec.meter.formula == "last"


def _text() -> str:
    return CATALOGUE_PATH.read_text(encoding="utf-8")


MISTAKES = [
    (
        (
            'interval = "month"\n\n[[plans.business.prices]]',
            'interval = "month"\ncolour = "red"\n\n[[plans.business.prices]]',
        ),
        "plans.business.prices[0] has unknown key(s) colour",
    ),
    (("amount = 4900\n", ""), "plans.business.prices[0] has no “amount” (a required field)"),
    (("amount = 4900", 'amount = "4900"'), "plans.business.prices[0].amount must be int"),
    (("plans.municipality", "plans.enterprise"), "the plans must be exactly those of Organization.Plan"),
    (('interval = "year"', 'interval = "weekly"'), "it must be one of month, year, one_off"),
    (("open_challenges = 1,", 'open_challenges = "lots",'), "must be a number or “unlimited”"),
    (
        ('lookup_key = "service_workshop"', 'lookup_key = "municipality_yearly"'),
        "lookup key(s) municipality_yearly appear more than once",
    ),
]


@pytest.mark.parametrize(("change", "sentence"), MISTAKES)
def test_a_mistake_in_the_catalogue_is_refused_with_a_sentence_saying_where(change, sentence):
    old, new = change
    assert old in _text()
    with pytest.raises(CatalogueError) as refused:
        catalogue_parse(_text().replace(old, new))
    assert sentence in str(refused.value)


def test_a_catalogue_that_cannot_be_read_says_so(tmp_path):
    with pytest.raises(CatalogueError, match="cannot read"):
        catalogue_load(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("plans = [", encoding="utf-8")
    with pytest.raises(CatalogueError, match="not valid TOML"):
        catalogue_load(broken)


# Sync, against a server of its own (empty) -----------------------------------------------------------


@pytest.fixture
def fresh_stripe(settings: Any) -> Iterator[LocalStripe]:
    server = start_local_stripe()
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_API_BASE = server.base_url
    yield server
    server.stop()


def _actions(lines: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.action] = counts.get(line.action, 0) + 1
    return counts


def test_sync_creates_the_catalogue_once_and_a_second_run_creates_nothing(fresh_stripe):
    first = catalogue_sync()
    assert _actions(first) == {"created": 1 + 5 + 6}  # the meter, 5 products, 6 prices
    second = catalogue_sync()
    assert _actions(second) == {"kept": 12}
    assert [(line.kind, line.stripe_id) for line in second] == [(line.kind, line.stripe_id) for line in first]

    client = fresh_stripe.client()
    prices = {
        p.lookup_key: p.to_dict() for p in client.v1.prices.list(params={"lookup_keys": LOOKUP_KEYS[:10]})
    }
    assert sorted(prices) == sorted(LOOKUP_KEYS)
    meter = client.v1.billing.meters.list().data[0].to_dict()
    assert (meter["event_name"], meter["default_aggregation"]["formula"]) == (
        "crowdact_active_participants",
        "last",
    )
    assert (meter["customer_mapping"]["event_payload_key"], meter["value_settings"]["event_payload_key"]) == (
        "stripe_customer_id",
        "value",
    )
    metered = prices["business_active_participant"]
    assert metered["recurring"] == {
        "interval": "month",
        "interval_count": 1,
        "meter": meter["id"],
        "trial_period_days": None,
        "usage_type": "metered",
    }
    assert (metered["unit_amount"], metered["currency"], metered["product"]) == (
        150,
        "eur",
        "crowdact_plan_business",
    )
    assert prices["municipality_yearly"]["recurring"]["interval"] == "year"
    assert prices["service_workshop"]["recurring"] is None
    product = client.v1.products.retrieve("crowdact_service_workshop").to_dict()
    assert product["name"] == "Crowdact Atelier de conception de défi"
    assert product["metadata"]["name_en"] == "Challenge design workshop"


def test_a_new_amount_makes_a_new_price_that_takes_the_lookup_key_over(fresh_stripe):
    catalogue_sync()
    client = fresh_stripe.client()
    old = client.v1.prices.list(params={"lookup_keys": ["business_base_monthly"]}).data[0]
    spec = catalogue()
    business = spec.plans["business"]
    dearer = dataclasses.replace(business.prices[0], amount=5900)
    changed = dataclasses.replace(
        spec,
        plans={**spec.plans, "business": dataclasses.replace(business, prices=(dearer, business.prices[1]))},
    )

    lines = catalogue_sync(changed)

    assert _actions(lines) == {"kept": 11, "created": 1, "archived": 1}
    new = client.v1.prices.list(params={"lookup_keys": ["business_base_monthly"]}).data
    assert [(p.unit_amount, p.active) for p in new] == [(5900, True)]
    gone = client.v1.prices.retrieve(old.id)
    assert (gone.lookup_key, gone.active) == (None, False)
    assert _actions(catalogue_sync(changed)) == {"kept": 12}


def test_the_command_prints_what_it_did(fresh_stripe):
    out = StringIO()
    call_command("stripe_sync_catalog", stdout=out)
    assert "created  price   business_base_monthly (price_" in out.getvalue()
    assert "12 created, 0 updated, 0 kept." in out.getvalue()
    out = StringIO()
    call_command("stripe_sync_catalog", stdout=out)
    assert "0 created, 0 updated, 12 kept." in out.getvalue()


def test_the_command_fails_with_a_sentence_when_stripe_is_not_configured_or_unreachable(
    settings, monkeypatch
):
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(CommandError, match="Stripe is not configured: set STRIPE_SECRET_KEY"):
        call_command("stripe_sync_catalog", stdout=StringIO())
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_API_BASE = closed_port_url()
    monkeypatch.setattr("billing.stripe_client.MAX_NETWORK_RETRIES", 0)
    with pytest.raises(CommandError, match=r"Stripe cannot be reached at http://127\.0\.0\.1:"):
        call_command("stripe_sync_catalog", stdout=StringIO())


def test_the_command_exits_with_status_1(tmp_path: Path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "STRIPE_SECRET_KEY": ""}
    done = subprocess.run(
        [sys.executable, "manage.py", "stripe_sync_catalog"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Stripe is not configured" in done.stderr
