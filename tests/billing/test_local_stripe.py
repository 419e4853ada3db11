"""The local Stripe server answers stripe-python like Stripe would, over real HTTP, webhooks included.

Objects are compared as plain dicts (`_plain`): their nested fields are Optional in stripe-python's
types, and a dict says exactly what the server sent.
"""

from __future__ import annotations

import html
import io
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, cast

import pytest
import stripe
from pypdf import PdfReader

from tests.billing.conftest import (
    API_VERSION,
    Delivery,
    LocalStripe,
    Response,
    WebhookReceiver,
    http_request,
    start_local_stripe,
)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _plain(obj: Any) -> Any:
    """A stripe-python object as plain dicts and lists."""
    return obj.to_dict() if obj is not None else None


def _price(client: stripe.StripeClient, name: str = "Crowdact Pro", **params: Any) -> stripe.Price:
    product = client.v1.products.create(params={"name": name})
    return client.v1.prices.create(params=cast(Any, {"product": product.id, "currency": "eur", **params}))


def _monthly(client: stripe.StripeClient, amount: int = 1500, **params: Any) -> stripe.Price:
    return _price(client, unit_amount=amount, recurring={"interval": "month"}, **params)


def _customer_with_card(client: stripe.StripeClient, **params: Any) -> stripe.Customer:
    email = f"{_unique('billing')}@example.org"
    customer = client.v1.customers.create(params=cast(Any, {"email": email, **params}))
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    return client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": method.id}}
    )


def _verified(server: LocalStripe, delivery: Delivery) -> stripe.Event:
    """The webhook's signature is Stripe's, and stripe-python's own check accepts it."""
    assert server.secret is not None
    header = delivery.headers["Stripe-Signature"]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    body = delivery.body.decode()
    assert header == stripe.WebhookSignature.generate_signature_header(body, server.secret, timestamp)
    return stripe.Webhook.construct_event(delivery.body, header, server.secret)


def _post_form(url: str, fields: dict[str, str]) -> Response:
    """A browser's form submit, the redirect not followed."""
    body = urllib.parse.urlencode(fields).encode()
    return http_request("POST", url, body, {"Content-Type": "application/x-www-form-urlencoded"})


def _get_page(url: str) -> str:
    response = http_request("GET", url)
    assert response.status == 200, response.body
    return response.body.decode()


def test_prices_by_lookup_key(client: stripe.StripeClient) -> None:
    key = _unique("pro_monthly")
    first = _monthly(client, lookup_key=key, nickname="Pro", metadata={"plan": "pro"})
    product = str(first.product)
    got = _plain(first)
    assert first.id.startswith("price_")
    assert (got["lookup_key"], got["unit_amount"], got["type"], got["nickname"]) == (
        key,
        1500,
        "recurring",
        "Pro",
    )
    assert (got["recurring"]["interval"], got["recurring"]["usage_type"]) == ("month", "licensed")
    assert got["metadata"] == {"plan": "pro"}

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.prices.create(
            params={"product": product, "currency": "eur", "unit_amount": 1500, "lookup_key": key}
        )
    assert refused.value.param == "lookup_key"
    assert first.id in str(refused.value.user_message)

    moved = client.v1.prices.create(
        params={
            "product": product,
            "currency": "eur",
            "unit_amount": 1800,
            "recurring": {"interval": "month"},
            "lookup_key": key,
            "transfer_lookup_key": True,
        }
    )
    found = client.v1.prices.list(params={"lookup_keys": [key, _unique("absent")], "active": True})
    assert [p.id for p in found.data] == [moved.id]
    assert client.v1.prices.retrieve(first.id).lookup_key is None

    by_product = client.v1.prices.list(params={"product": product})
    assert [p.id for p in by_product.data] == [moved.id, first.id]  # newest first, like Stripe
    client.v1.prices.update(first.id, params={"active": False})
    inactive = client.v1.prices.list(params={"product": product, "active": False})
    assert [p.id for p in inactive.data] == [first.id]

    updated = client.v1.products.update(product, params={"metadata": {"organization": "acme"}})
    assert _plain(updated.metadata) == {"organization": "acme"}
    assert product in [p.id for p in client.v1.products.list(params={"limit": 100}).data]
    assert _plain(client.v1.products.retrieve(product).metadata) == {"organization": "acme"}


def test_subscription_on_a_licensed_price_charges_the_default_card(
    client: stripe.StripeClient, local_stripe: LocalStripe, webhooks: WebhookReceiver
) -> None:
    price = _monthly(client, amount=1500)
    customer = _customer_with_card(client, metadata={"organization": "alpha"})
    created = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 3}],
            "metadata": {"organization": "alpha"},
            "expand": ["latest_invoice"],
        }
    )
    assert isinstance(created.latest_invoice, stripe.Invoice)  # expanded, and typed by stripe-python
    sub = _plain(created)
    assert (sub["status"], sub["collection_method"], sub["days_until_due"]) == (
        "active",
        "charge_automatically",
        None,
    )
    item = sub["items"]["data"][0]
    assert (item["price"]["id"], item["quantity"]) == (price.id, 3)
    assert 28 * 86400 <= item["current_period_end"] - item["current_period_start"] <= 31 * 86400
    assert "current_period_end" not in sub  # on the items since API 2025-03-31
    invoice = sub["latest_invoice"]
    assert (invoice["status"], invoice["amount_due"], invoice["amount_paid"]) == ("paid", 4500, 4500)
    assert (invoice["currency"], invoice["billing_reason"]) == ("eur", "subscription_create")
    assert invoice["parent"]["subscription_details"] == {
        "metadata": {"organization": "alpha"},
        "subscription": sub["id"],
        "subscription_proration_date": None,
    }
    line = invoice["lines"]["data"][0]
    assert (line["pricing"]["price_details"]["price"], line["quantity"], line["amount"]) == (
        price.id,
        3,
        4500,
    )
    assert invoice["number"] in _get_page(invoice["hosted_invoice_url"])

    delivery = webhooks.wait_for("customer.subscription.created", lambda o: o["id"] == sub["id"])
    event = _verified(local_stripe, delivery)
    got = _plain(event)
    assert got["data"]["object"]["status"] == "active"
    assert (got["api_version"], got["livemode"], got["object"]) == (API_VERSION, False, "event")
    assert got["request"]["idempotency_key"]  # stripe-python sent one with its POST
    assert client.v1.events.retrieve(event.id).type == "customer.subscription.created"

    listed = client.v1.subscriptions.list(params={"customer": customer.id})
    assert [s.id for s in listed.data] == [sub["id"]]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": "price_missing"}]}
        )
    assert (refused.value.http_status, refused.value.param) == (404, "items[0][price]")


def test_metered_subscription_bills_the_usage_of_its_meter(
    client: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    event_name = _unique("pledges")
    meter = client.v1.billing.meters.create(
        params={
            "display_name": "Pledges",
            "event_name": event_name,
            "default_aggregation": {"formula": "sum"},
            "customer_mapping": {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": {"event_payload_key": "value"},
        }
    )
    assert (meter.id[:4], meter.status, meter.default_aggregation.formula) == ("mtr_", "active", "sum")
    metered = {"interval": "month", "usage_type": "metered", "meter": meter.id}
    price = _price(client, unit_amount=25, recurring=metered)
    customer = _customer_with_card(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": price.id, "quantity": 2}]}
        )
    assert refused.value.param == "items[0][quantity]"
    sub = _plain(
        client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}]})
    )
    assert sub["status"] == "active"
    assert sub["items"]["data"][0]["quantity"] is None

    def record(identifier: str, value: str) -> None:
        client.v1.billing.meter_events.create(
            params={
                "event_name": event_name,
                "identifier": identifier,
                "payload": {"stripe_customer_id": customer.id, "value": value},
            }
        )

    record(f"{sub['id']}-a", "3")
    record(f"{sub['id']}-b", "4")
    with pytest.raises(stripe.InvalidRequestError) as duplicate:  # a resend is refused: counted once
        record(f"{sub['id']}-a", "3")
    assert duplicate.value.http_status == 400
    assert f"An event already exists with identifier {sub['id']}-a" in str(duplicate.value.user_message)

    usage = local_stripe.call("GET", f"/_local/meter_events?customer={customer.id}&event_name={event_name}")
    assert usage["meters"] == [
        {
            "meter": meter.id,
            "event_name": event_name,
            "formula": "sum",
            "event_count": 2,
            "aggregated_value": 7,
        }
    ]
    now = int(time.time())
    summaries = client.v1.billing.meters.event_summaries.list(
        meter.id, params={"customer": customer.id, "start_time": now - 3600, "end_time": now + 60}
    )
    assert [s.aggregated_value for s in summaries.data] == [7]

    renewed = local_stripe.call("POST", f"/_local/subscriptions/{sub['id']}/advance")
    invoice = renewed["latest_invoice"]
    assert (invoice["billing_reason"], invoice["status"], invoice["amount_paid"]) == (
        "subscription_cycle",
        "paid",
        175,
    )
    assert invoice["lines"]["data"][0]["quantity"] == 7


def test_meter_with_last_aggregation_and_old_events(
    client: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    event_name = _unique("seats")
    client.v1.billing.meters.create(
        params={"display_name": "Seats", "event_name": event_name, "default_aggregation": {"formula": "last"}}
    )
    customer = client.v1.customers.create(params={"name": "Last aggregation"})
    now = int(time.time())
    for offset, value in ((-300, "5"), (-100, "2"), (-200, "9")):  # the latest in event time wins
        client.v1.billing.meter_events.create(
            params={
                "event_name": event_name,
                "timestamp": now + offset,
                "payload": {"stripe_customer_id": customer.id, "value": value},
            }
        )
    usage = local_stripe.call("GET", f"/_local/meter_events?customer={customer.id}")
    assert [m["aggregated_value"] for m in usage["meters"] if m["event_name"] == event_name] == [2]
    assert [e["payload"]["value"] for e in usage["events"]] == ["5", "9", "2"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.billing.meter_events.create(
            params={
                "event_name": event_name,
                "timestamp": now - 36 * 86400,
                "payload": {"stripe_customer_id": customer.id, "value": "1"},
            }
        )
    assert refused.value.param == "timestamp"
    assert "35" in str(refused.value.user_message)


def test_send_invoice_subscription_with_a_po_number_paid_by_bank_transfer(
    client: stripe.StripeClient, local_stripe: LocalStripe, webhooks: WebhookReceiver
) -> None:
    price = _price(client, "Crowdact Enterprise", unit_amount=120000, recurring={"interval": "year"})
    customer = client.v1.customers.create(params={"email": "finance@beta.example", "name": "Beta Town"})
    sub = _plain(
        client.v1.subscriptions.create(
            params={
                "customer": customer.id,
                "items": [{"price": price.id, "quantity": 1}],
                "collection_method": "send_invoice",
                "days_until_due": 30,
                "invoice_settings": {"custom_fields": [{"name": "PO number", "value": "PO-4711"}]},
                "metadata": {"organization": "beta"},
            }
        )
    )
    assert (sub["status"], sub["collection_method"], sub["days_until_due"]) == ("active", "send_invoice", 30)
    assert sub["invoice_settings"]["custom_fields"] == [{"name": "PO number", "value": "PO-4711"}]
    invoice = _plain(client.v1.invoices.retrieve(sub["latest_invoice"]))
    assert (invoice["status"], invoice["amount_due"], invoice["amount_paid"]) == ("open", 120000, 0)
    assert abs(invoice["due_date"] - (invoice["created"] + 30 * 86400)) < 5
    assert invoice["custom_fields"] == [{"name": "PO number", "value": "PO-4711"}]
    assert invoice["lines"]["data"][0]["period"]["end"] > invoice["created"]

    pdf = http_request("GET", invoice["invoice_pdf"])
    assert pdf.headers["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.body)).pages[0].extract_text()
    assert "PO number: PO-4711" in text
    assert invoice["number"] in text
    assert "PO-4711" in _get_page(invoice["hosted_invoice_url"])

    listed = client.v1.invoices.list(params={"customer": customer.id, "subscription": sub["id"]})
    assert [i.id for i in listed.data] == [invoice["id"]]
    paid = _plain(client.v1.invoices.pay(invoice["id"], params={"paid_out_of_band": True}))
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 120000, 0)
    assert paid["amount_paid_off_stripe"] == 120000
    assert paid["status_transitions"]["paid_at"]

    event = _plain(
        _verified(local_stripe, webhooks.wait_for("invoice.paid", lambda o: o["id"] == invoice["id"]))
    )
    assert event["data"]["object"]["status"] == "paid"
    assert event["data"]["object"]["parent"]["subscription_details"]["metadata"] == {"organization": "beta"}
    with pytest.raises(stripe.InvalidRequestError, match="already paid"):
        client.v1.invoices.pay(invoice["id"], params={"paid_out_of_band": True})


def test_checkout_in_subscription_mode_through_the_hosted_page(
    client: stripe.StripeClient, local_stripe: LocalStripe, webhooks: WebhookReceiver
) -> None:
    price = _monthly(client, amount=2900, name="Crowdact Team")
    organization = _unique("acme")
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 2}],
            "customer_email": "owner@acme.example",
            "success_url": "https://crowdact.test/billing/done?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://crowdact.test/billing/cancelled",
            "client_reference_id": organization,
            "metadata": {"organization": organization},
            "subscription_data": {"metadata": {"organization": organization}},
            "tax_id_collection": {"enabled": True},
            "locale": "de",
        }
    )
    url = str(session.url)
    assert session.id.startswith("cs_test_")
    assert url == f"{local_stripe.base_url}/checkout/{session.id}"
    assert (session.status, session.payment_status, session.amount_total) == ("open", "unpaid", 5800)
    assert (session.subscription, session.customer, session.currency) == (None, None, "eur")
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert [(_plain(i)["price"]["id"], i.quantity, i.amount_total) for i in items.data] == [
        (price.id, 2, 5800)
    ]

    page = _get_page(url)
    assert '<html lang="de">' in page
    assert '<label for="card_number">Card number</label>' in page
    assert "Crowdact Team" in page
    assert "€58.00" in page
    assert 'href="https://crowdact.test/billing/cancelled"' in page

    response = _post_form(url, {"card_number": "4242 4242 4242 4242", "tax_id": "DE123456789"})
    assert response.status == 303
    assert response.headers["Location"] == f"https://crowdact.test/billing/done?session={session.id}"

    done = _plain(client.v1.checkout.sessions.retrieve(session.id))
    assert (done["status"], done["payment_status"], done["client_reference_id"]) == (
        "complete",
        "paid",
        organization,
    )
    assert done["customer_details"]["email"] == "owner@acme.example"
    assert done["customer_details"]["tax_ids"] == [{"type": "eu_vat", "value": "DE123456789"}]
    sub = _plain(client.v1.subscriptions.retrieve(done["subscription"]))
    assert (sub["status"], sub["customer"], sub["latest_invoice"]) == (
        "active",
        done["customer"],
        done["invoice"],
    )
    assert sub["metadata"] == {"organization": organization}
    assert sub["default_payment_method"].startswith("pm_")
    assert client.v1.customers.retrieve(done["customer"]).email == "owner@acme.example"

    completed = webhooks.wait_for("checkout.session.completed", lambda o: o["id"] == session.id)
    sub_created = webhooks.wait_for("customer.subscription.created", lambda o: o["id"] == sub["id"])
    invoice_paid = webhooks.wait_for("invoice.paid", lambda o: o["id"] == done["invoice"])
    for delivery in (completed, sub_created, invoice_paid):
        event = _verified(local_stripe, delivery)
        assert event.id.startswith("evt_")
        assert event.api_version == API_VERSION
    assert completed.event["data"]["object"]["subscription"] == sub["id"]
    order = [webhooks.deliveries.index(d) for d in (sub_created, invoice_paid, completed)]
    assert order == sorted(order), "events arrive in the order they happened"
    assert "This checkout is complete." in _get_page(url)  # no second payment


def test_a_declined_card_creates_nothing(client: stripe.StripeClient) -> None:
    price = _monthly(client)
    email = f"{_unique('declined')}@example.org"
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "https://crowdact.test/done",
        }
    )
    response = _post_form(str(session.url), {"email": email, "card_number": "4000 0000 0000 0002"})
    assert response.status == 402
    assert '<p role="alert" class="alert">Your card was declined.</p>' in html.unescape(
        response.body.decode()
    )
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    assert client.v1.customers.list(params={"email": email}).data == []
    assert client.v1.subscriptions.list(params={"price": price.id, "status": "all"}).data == []
    completed = client.v1.events.list(params={"type": "checkout.session.completed", "limit": 100})
    assert session.id not in [_plain(e)["data"]["object"]["id"] for e in completed.data]


def test_checkout_in_payment_mode_creates_a_paid_invoice(client: stripe.StripeClient) -> None:
    price = _price(client, "Impact report", unit_amount=5000)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [{"price": _monthly(client).id, "quantity": 1}],
                "success_url": "https://crowdact.test/done",
            }
        )
    assert refused.value.param == "line_items[0][price]"
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [{"price": price.id, "quantity": 2}],
            "customer_email": "buyer@gamma.example",
            "success_url": "https://crowdact.test/done?s={CHECKOUT_SESSION_ID}",
            "payment_intent_data": {"metadata": {"organization": "gamma"}},
            "invoice_creation": {
                "enabled": True,
                "invoice_data": {
                    "metadata": {"organization": "gamma"},
                    "custom_fields": [{"name": "PO number", "value": "G-1"}],
                },
            },
        }
    )
    assert _plain(session.invoice_creation)["enabled"] is True
    assert session.amount_total == 10000
    response = _post_form(str(session.url), {"card_number": "4242424242424242", "card_name": "Gamma Buyer"})
    assert response.status == 303
    done = _plain(
        client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["invoice", "payment_intent"]})
    )
    assert (done["status"], done["payment_status"], done["subscription"]) == ("complete", "paid", None)
    assert (done["payment_intent"]["status"], done["payment_intent"]["metadata"]) == (
        "succeeded",
        {"organization": "gamma"},
    )
    invoice = done["invoice"]
    assert (invoice["status"], invoice["amount_paid"], invoice["customer"]) == (
        "paid",
        10000,
        done["customer"],
    )
    assert (invoice["parent"], invoice["metadata"]) == (None, {"organization": "gamma"})
    assert invoice["custom_fields"] == [{"name": "PO number", "value": "G-1"}]
    assert client.v1.customers.retrieve(done["customer"]).email == "buyer@gamma.example"


def test_billing_portal_cancels_at_period_end(
    client: stripe.StripeClient, local_stripe: LocalStripe, webhooks: WebhookReceiver
) -> None:
    price = _monthly(client, name="Crowdact Portal Plan")
    customer = _customer_with_card(client)
    sub = client.v1.subscriptions.create(params={"customer": customer.id, "items": [{"price": price.id}]})
    portal = client.v1.billing_portal.sessions.create(
        params={
            "customer": customer.id,
            "return_url": "https://crowdact.test/settings/billing",
            "locale": "fr",
        }
    )
    assert portal.id.startswith("bps_")
    assert (portal.customer, portal.url) == (
        customer.id,
        f"{local_stripe.base_url}/billing_portal/{portal.id}",
    )
    page = _get_page(portal.url)
    assert "Crowdact Portal Plan" in page
    assert "Cancel subscription</button>" in page
    assert 'href="https://crowdact.test/settings/billing"' in page
    assert '<html lang="fr">' in page

    response = _post_form(f"{portal.url}/subscriptions/{sub.id}/cancel", {})
    assert response.status == 303
    canceling = _plain(client.v1.subscriptions.retrieve(sub.id))
    assert (canceling["status"], canceling["cancel_at_period_end"]) == ("active", True)
    assert canceling["cancel_at"] == canceling["items"]["data"][0]["current_period_end"]
    updated = webhooks.wait_for(
        "customer.subscription.updated", lambda o: o["id"] == sub.id and o["cancel_at_period_end"]
    )
    assert (
        _plain(_verified(local_stripe, updated))["data"]["previous_attributes"]["cancel_at_period_end"]
        is False
    )

    ended = local_stripe.call("POST", f"/_local/subscriptions/{sub.id}/advance")
    assert (ended["status"], ended["ended_at"]) == ("canceled", canceling["cancel_at"])
    webhooks.wait_for("customer.subscription.deleted", lambda o: o["id"] == sub.id)


def test_a_failed_renewal_makes_the_subscription_past_due_until_paid(
    client: stripe.StripeClient, local_stripe: LocalStripe, webhooks: WebhookReceiver
) -> None:
    customer = _customer_with_card(client)
    sub = _plain(
        client.v1.subscriptions.create(
            params={"customer": customer.id, "items": [{"price": _monthly(client).id}]}
        )
    )
    first_end = sub["items"]["data"][0]["current_period_end"]
    local_stripe.call("POST", f"/_local/subscriptions/{sub['id']}/fail_next_payment")

    renewed = local_stripe.call("POST", f"/_local/subscriptions/{sub['id']}/advance")
    assert renewed["status"] == "past_due"
    assert renewed["items"]["data"][0]["current_period_start"] == first_end
    failed = renewed["latest_invoice"]
    assert (failed["status"], failed["attempt_count"], failed["billing_reason"]) == (
        "open",
        1,
        "subscription_cycle",
    )
    event = _plain(
        _verified(
            local_stripe, webhooks.wait_for("invoice.payment_failed", lambda o: o["id"] == failed["id"])
        )
    )
    assert event["data"]["object"]["next_payment_attempt"] > failed["created"]
    went_past_due = webhooks.wait_for(
        "customer.subscription.updated", lambda o: o["id"] == sub["id"] and o["status"] == "past_due"
    )
    assert went_past_due.event["data"]["previous_attributes"]["status"] == "active"

    assert client.v1.invoices.pay(failed["id"]).status == "paid"  # the retry, with the same good card
    assert client.v1.subscriptions.retrieve(sub["id"]).status == "active"
    webhooks.wait_for(
        "customer.subscription.updated", lambda o: o["id"] == sub["id"] and o["status"] == "active"
    )

    by_transfer = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": _monthly(client).id}],
            "collection_method": "send_invoice",
            "days_until_due": 14,
        }
    )
    marked = local_stripe.call("POST", f"/_local/invoices/{by_transfer.latest_invoice}/fail")
    assert (marked["status"], marked["attempt_count"]) == ("open", 1)
    assert client.v1.subscriptions.retrieve(by_transfer.id).status == "past_due"
    webhooks.wait_for("invoice.payment_failed", lambda o: o["id"] == by_transfer.latest_invoice)


def test_search_by_metadata(client: stripe.StripeClient) -> None:
    organization = _unique("acme")
    email = f"{organization}@example.org"
    wanted = client.v1.customers.create(params={"email": email, "metadata": {"organization": organization}})
    client.v1.customers.create(params={"email": f"other-{email}", "metadata": {"organization": "other"}})
    query = f"metadata['organization']:'{organization}'"
    found = client.v1.customers.search(params={"query": query})
    assert [c.id for c in found.data] == [wanted.id]
    assert _plain(found)["object"] == "search_result"
    assert [c.id for c in client.v1.customers.list(params={"email": email}).data] == [wanted.id]

    sub = client.v1.subscriptions.create(
        params={
            "customer": wanted.id,
            "items": [{"price": _monthly(client).id}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "metadata": {"organization": organization},
        }
    )
    subs = client.v1.subscriptions.search(params={"query": f"status:'active' AND {query}"})
    assert [s.id for s in subs.data] == [sub.id]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.search(params={"query": "nonsense"})


def test_errors_are_shaped_like_stripes(client: stripe.StripeClient, local_stripe: LocalStripe) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.prices.retrieve("price_unknown")
    assert (missing.value.http_status, missing.value.code, missing.value.param) == (
        404,
        "resource_missing",
        "id",
    )
    assert cast(dict[str, Any], missing.value.json_body)["error"] == {
        "message": "No such price: 'price_unknown'",
        "type": "invalid_request_error",
        "param": "id",
        "code": "resource_missing",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
    }

    params = {"currency": "eur", "unit_amount": 1, "product_data": {"name": "X"}, "colour": "red"}
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.prices.create(params=cast(Any, params))
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "colour")

    customer = client.v1.customers.create(params={"name": "Declines"})
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_methods.attach("pm_card_visa_chargeDeclined", params={"customer": customer.id})
    assert declined.value.code == "card_declined"
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_live_nope", base_addresses={"api": local_stripe.base_url}).v1.customers.list()


def test_a_retried_post_gets_the_first_answer(client: stripe.StripeClient) -> None:
    key = str(uuid.uuid4())
    first = client.v1.customers.create(params={"name": "Once"}, options={"idempotency_key": key})
    again = client.v1.customers.create(params={"name": "Once"}, options={"idempotency_key": key})
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create(params={"name": "Twice"}, options={"idempotency_key": key})


def test_webhooks_are_retried_while_the_endpoint_fails(
    client: stripe.StripeClient, local_stripe: LocalStripe, webhooks: WebhookReceiver
) -> None:
    deadline = time.monotonic() + 10  # earlier tests' events first: the two 500s are for this one
    while local_stripe.call("GET", "/_local/webhook")["pending"] and time.monotonic() < deadline:
        time.sleep(0.05)
    webhooks.fail_next = 2
    product = client.v1.products.create(params={"name": _unique("Retried")})
    event = _verified(local_stripe, webhooks.wait_for("product.created", lambda o: o["id"] == product.id))
    assert webhooks.attempts.count(event.id) == 3
    assert local_stripe.call("GET", "/_local/webhook")["failed"] == 0


def test_servers_share_nothing_and_forget_everything_on_restart(client: stripe.StripeClient) -> None:
    pickle = Path(tempfile.gettempdir()) / "localstripe.pickle"  # where localstripe's own CLI persists
    before = pickle.stat().st_mtime_ns if pickle.exists() else None
    kept = client.v1.customers.create(params={"name": "Only on the first server"})
    other = start_local_stripe()
    try:
        other_client = other.client()
        assert other_client.v1.customers.list().data == []
        with pytest.raises(stripe.InvalidRequestError) as missing:
            other_client.v1.customers.retrieve(kept.id)
        assert missing.value.http_status == 404
        forgotten = other_client.v1.customers.create(params={"name": "Gone after a restart"})
    finally:
        other.stop()
    assert other.process.returncode == 0
    restarted = start_local_stripe()
    try:
        restarted_client = restarted.client()
        assert restarted_client.v1.customers.list().data == []
        with pytest.raises(stripe.InvalidRequestError):
            restarted_client.v1.customers.retrieve(forgotten.id)
    finally:
        restarted.stop()
    assert (pickle.stat().st_mtime_ns if pickle.exists() else None) == before
    assert client.v1.customers.retrieve(kept.id).name == "Only on the first server"


def test_events_api_lists_newest_first(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(params={"name": _unique("Evented")})
    client.v1.products.update(product.id, params={"name": "Renamed"})
    events = client.v1.events.list(params={"types": ["product.created", "product.updated"], "limit": 100})
    mine = [_plain(e) for e in events.data if _plain(e)["data"]["object"]["id"] == product.id]
    assert [e["type"] for e in mine] == ["product.updated", "product.created"]
    assert mine[0]["data"]["previous_attributes"]["name"] == product.name
    assert mine[0]["request"]["id"].startswith("req_")
