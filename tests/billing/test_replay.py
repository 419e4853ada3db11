"""Events in any order, any number of times, end in the same state as the same events once, in order.

The local server's real activity for a few dozen organisations (Checkout, renewals, failed payments,
payments, cancellations, invoices paid by transfer, paid services) makes a few hundred webhooks.
They are handed to the product once in the order they happened; the state is recorded; the
product's rows are wiped; then 1,000 deliveries of the same events (each at least once, many two or
three times) are handed over shuffled. Both runs must end in the same rows and organisation states.
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.test import TestCase

from billing.models import BillingAccount, Invoice, Purchase, StripeEvent, Subscription, UsageReport
from billing.services import checkout_session_create, municipality_subscribe
from tenants.models import Organization
from tests.billing.conftest import Billing, Delivery
from tests.billing.support import (
    CANCEL_URL,
    SUCCESS_URL,
    business_by_api,
    customer_with_card,
    row_organization,
)

DELIVERIES = 1000
SEED = 20261028


def _checkout(billing: Billing, operator: Any, organization: Organization, kind: str, key: str) -> None:
    url = checkout_session_create(
        operator, organization, kind=kind, key=key, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
    )
    assert billing.pay_checkout(url).status == 303


def _advance(billing: Billing, sub_id: str, **params: str) -> dict[str, Any]:
    result: dict[str, Any] = billing.server.call(
        "POST", f"/_local/subscriptions/{sub_id}/advance", params or None
    )
    return result


def _subscription_on_stripe(billing: Billing, organization: Organization) -> str:
    query = f"metadata['organization']:'{organization.schema_name}'"
    [sub] = billing.client.v1.subscriptions.search(params={"query": query}).data
    return str(sub.id)


def _scenario(billing: Billing, operator: Any, index: int) -> tuple[str, str]:
    """One organisation's life on Stripe; returns the plan and state it must end in."""
    kind = "municipality" if index % 6 == 3 else "company"
    organization = row_organization(f"replay{index:02d}", kind)
    customer_with_card(billing, organization)
    case = index % 6
    if case == 0:  # upgrades through Checkout, renews
        _checkout(billing, operator, organization, "plan", "business")
        _advance(billing, _subscription_on_stripe(billing, organization))
        return "business", "active"
    if case == 1:  # upgrades, the renewal fails: in its grace period
        _checkout(billing, operator, organization, "plan", "business")
        _advance(billing, _subscription_on_stripe(billing, organization), payment="fail")
        return "business", "past_due"
    if case == 2:  # Business made in the dashboard, cancelled at the period's end, ended
        sub_id = business_by_api(billing, organization)
        billing.client.v1.subscriptions.update(sub_id, params={"cancel_at_period_end": True})
        _advance(billing, sub_id)
        return "discovery", "canceled"
    if case == 3:  # a municipality by invoice, paid by transfer
        municipality_subscribe(operator, organization, f"BC-{index}")
        invoice = Invoice.objects.get(organization=organization)
        billing.client.v1.invoices.pay(invoice.stripe_id, params={"paid_out_of_band": True})
        return "municipality", "active"
    if case == 4:  # buys a service, is on Business, a renewal fails, then is paid
        _checkout(billing, operator, organization, "service", "workshop")
        sub_id = business_by_api(billing, organization)
        failed = _advance(billing, sub_id, payment="fail")["latest_invoice"]["id"]
        billing.client.v1.invoices.pay(failed)
        _advance(billing, sub_id)
        return "business", "active"
    # case 5: two renewals fail: unpaid, still in its grace period (counted from the first failure)
    sub_id = business_by_api(billing, organization)
    _advance(billing, sub_id, payment="fail")
    _advance(billing, sub_id, payment="fail")
    return "business", "past_due"


def _wipe() -> None:
    for model in (StripeEvent, Purchase, Invoice, Subscription, UsageReport):
        model.objects.all().delete()
    BillingAccount.objects.update(grace_until=None)
    Organization.objects.update(plan="discovery", billing_state="active")


def _state() -> dict[str, Any]:
    def rows(model: Any, key: str, exclude: set[str]) -> list[dict[str, Any]]:
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in exclude]
        return list(model.objects.order_by(key).values(*names))

    account = "billing_account__"
    purchase_skip = {"id", "created_at", "stripe_updated", "invoice_id", "bought_by"}
    purchases = Purchase.objects.order_by("checkout_session_id")
    return {
        "organizations": list(
            Organization.objects.order_by("schema_name").values(
                "schema_name",
                "plan",
                "billing_state",
                f"{account}grace_until",
                f"{account}stripe_customer_id",
            )
        ),
        "subscriptions": rows(Subscription, "stripe_id", {"id", "stripe_updated"}),
        "invoices": rows(Invoice, "stripe_id", {"id", "stripe_updated"}),
        "purchases": rows(Purchase, "checkout_session_id", purchase_skip),
        "purchase_invoices": list(purchases.values_list("invoice__stripe_id", flat=True)),
        "events": sorted(
            StripeEvent.objects.values_list("stripe_id", "type", "object_id", "organization__schema_name")
        ),
    }


def _hand_over(billing: Billing, deliveries: list[Delivery]) -> list[bool]:
    """Each delivery posted as Stripe would post it (signed now); returns which were duplicates."""
    duplicates = []
    for delivery in deliveries:
        with TestCase.captureOnCommitCallbacks(execute=True):
            response = billing.post(delivery.body, billing.sign(delivery.body))
        assert response.status_code == 200, response.content
        duplicates.append(response.json()["duplicate"])
    return duplicates


def test_a_thousand_shuffled_and_repeated_events_end_in_the_state_of_the_events_once_in_order(billing):
    started = time.monotonic()
    operator = get_user_model().objects.create_superuser(email="ops@crowdact.test", password="ops-pass-123")
    expected = {f"replay{i:02d}": _scenario(billing, operator, i) for i in range(24)}
    in_order = billing.pending()
    assert 300 <= len(in_order) < DELIVERIES, len(in_order)
    ids = [d.event["id"] for d in in_order]
    assert len(set(ids)) == len(ids)
    generated = time.monotonic()

    _wipe()
    assert not any(_hand_over(billing, in_order))
    once = _state()
    applied_once = time.monotonic()

    ending = {o["schema_name"]: (o["plan"], o["billing_state"]) for o in once["organizations"]}
    assert {slug: ending[slug] for slug in expected} == expected
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert not StripeEvent.objects.exclude(last_error="").exists()

    _wipe()
    rng = random.Random(SEED)  # noqa: S311 - a reproducible shuffle, not a secret
    shuffled = in_order + [rng.choice(in_order) for _ in range(DELIVERIES - len(in_order))]
    rng.shuffle(shuffled)
    duplicates = _hand_over(billing, shuffled)
    again = _state()

    assert len(shuffled) == DELIVERIES
    assert duplicates.count(False) == len(in_order)  # each event's work done once; the rest refused
    assert StripeEvent.objects.count() == len(in_order)
    assert again == once
    assert sum(1 for o in once["organizations"] if o["billing_account__grace_until"]) == 8
    finished = time.monotonic()
    print(  # noqa: T201 - the figures of the run, with -s
        f"\n{len(in_order)} events from the local server in {generated - started:.1f} s; "
        f"applied once in order in {applied_once - generated:.1f} s; "
        f"{DELIVERIES} shuffled deliveries in {finished - applied_once:.1f} s"
    )
    assert finished - started < 90
