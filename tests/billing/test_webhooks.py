"""The webhook endpoint: signatures checked on the raw body, each event stored once before its work is
queued, answers without calling Stripe; the work retries while Stripe is unreachable; operators
replay events from the admin."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, TestCase
from django.urls import reverse

from billing import tasks
from billing.errors import BillingUnavailable
from billing.models import BillingAccount, Purchase, StripeEvent, Subscription
from billing.services import checkout_session_create, municipality_subscribe, stripe_event_process
from tests.billing.conftest import WEBHOOK_PATH, Billing, closed_port_url
from tests.billing.support import CANCEL_URL, SUCCESS_URL, admin_of, as_admin, business_by_checkout


def _event(billing: Billing, type_: str = "customer.subscription.updated", object_id: str = "sub_x") -> bytes:
    """An event shaped like Stripe's, for the signature tests (its work is not what they check)."""
    return json.dumps(
        {
            "id": f"evt_{time.monotonic_ns()}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "type": type_,
            "livemode": False,
            "data": {"object": {"id": object_id, "object": type_.split(".")[0]}},
        }
    ).encode()


def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(billing):
    body = _event(billing)
    good = billing.sign(body)
    tampered = body.replace(b"sub_x", b"sub_y")
    assert billing.post(tampered, good).status_code == 400
    assert billing.post(body, None).status_code == 400
    assert billing.post(body, "t=1,v1=deadbeef").status_code == 400
    assert billing.post(body, billing.sign(body).replace("v1=", "v1=0")).status_code == 400
    old = f"t={int(time.time()) - 600},v1=" + good.split("v1=")[1]  # replayed 10 minutes later
    assert billing.post(body, old).status_code == 400
    assert StripeEvent.objects.count() == 0


def test_only_post_is_answered(billing):
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    assert client.get(WEBHOOK_PATH).status_code == 405
    assert reverse("stripe_webhook", urlconf="config.urls_public") == WEBHOOK_PATH


def test_a_duplicate_delivery_is_stored_once_and_its_work_done_once(billing, org_a):
    business_by_checkout(billing, org_a, admin_of(org_a))
    completed = next(e for e in StripeEvent.objects.all() if e.type == "checkout.session.completed")
    again = json.dumps(completed.payload).encode()

    with TestCase.captureOnCommitCallbacks(execute=True) as queued:
        response = billing.post(again, billing.sign(again))

    assert response.status_code == 200
    assert response.json() == {"received": completed.stripe_id, "duplicate": True}
    assert queued == [], "nothing queued for a duplicate"
    assert StripeEvent.objects.filter(stripe_id=completed.stripe_id).count() == 1
    completed.refresh_from_db()
    assert completed.attempts == 1


def test_the_endpoint_answers_without_calling_stripe(billing, org_a):
    admin = admin_of(org_a)
    url = as_admin(org_a, admin, checkout_session_create, kind="plan", key="business",
                   success_url=SUCCESS_URL, cancel_url=CANCEL_URL)  # fmt: skip
    billing.pay_checkout(url)
    deliveries = billing.pending()
    settings.STRIPE_API_BASE = closed_port_url()  # Stripe unreachable while the requests are answered

    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        started = time.perf_counter()
        responses = [billing.post(d.body, d.headers["Stripe-Signature"]) for d in deliveries]
        elapsed = time.perf_counter() - started

    assert [r.status_code for r in responses] == [200] * len(deliveries)
    assert all(r.json()["duplicate"] is False for r in responses)
    assert len(queued) == len(deliveries) == StripeEvent.objects.count()
    assert elapsed / len(deliveries) < 0.1, f"{elapsed / len(deliveries) * 1000:.0f} ms per event"
    assert not StripeEvent.objects.filter(processed_at__isnull=False).exists()

    settings.STRIPE_API_BASE = billing.server.base_url  # Stripe is back: the queued work runs
    for callback in queued:
        callback()
    org_a.refresh_from_db()
    assert (org_a.plan, org_a.billing_state) == ("business", "active")
    assert not StripeEvent.objects.filter(processed_at__isnull=True).exists()


def test_an_unknown_event_type_is_stored_and_marked_processed_with_nothing_done(billing, org_a):
    body = _event(billing, "radar.early_fraud_warning.created", "issfr_1")
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert billing.post(body, billing.sign(body)).status_code == 200
    event = StripeEvent.objects.get()
    assert (event.type, event.processed_at is not None, event.attempts, event.last_error) == (
        "radar.early_fraud_warning.created",
        True,
        1,
        "",
    )
    assert not Subscription.objects.exists()


def test_an_event_about_an_object_stripe_does_not_have_is_recorded_not_retried(billing):
    body = _event(billing, "customer.subscription.updated", "sub_gone")
    with TestCase.captureOnCommitCallbacks(execute=True):
        billing.post(body, billing.sign(body))
    event = StripeEvent.objects.get()
    assert event.attempts == 1
    assert "No such subscription" in event.last_error
    assert event.processed_at is not None


def test_while_stripe_is_unreachable_the_work_retries_then_stays_to_be_done(billing, org_a, monkeypatch):
    business_by_checkout(billing, org_a, admin_of(org_a))
    event = StripeEvent.objects.filter(type="customer.subscription.created").get()
    StripeEvent.objects.filter(pk=event.pk).update(processed_at=None, attempts=0)
    Subscription.objects.update(stripe_updated=event.received_at - dt.timedelta(seconds=1))  # read before it
    monkeypatch.setattr("billing.stripe_client.MAX_NETWORK_RETRIES", 0)
    settings.STRIPE_API_BASE = closed_port_url()

    with pytest.raises(BillingUnavailable):
        stripe_event_process(event.pk)
    result = tasks.stripe_event_process.apply(args=(event.pk,))  # what a worker does, inline

    assert result.state == "FAILURE"
    assert isinstance(result.result, BillingUnavailable)
    event.refresh_from_db()
    assert event.attempts == 1 + 1 + tasks.MAX_RETRIES  # the direct call, then the task and its retries
    assert event.processed_at is None
    assert "BillingUnavailable" in event.last_error

    settings.STRIPE_API_BASE = billing.server.base_url
    assert tasks.stripe_event_process.apply(args=(event.pk,)).result == "processed"
    event.refresh_from_db()
    assert (event.processed_at is not None, event.last_error) == (True, "")


def test_an_event_whose_object_was_read_since_it_came_is_done_without_reading_it_again(
    billing, org_a, monkeypatch
):
    business_by_checkout(billing, org_a, admin_of(org_a))
    subscription = Subscription.objects.get()
    events = {
        kind: StripeEvent.objects.filter(type=kind).get()
        for kind in ("customer.subscription.created", "invoice.paid")
    }
    # Both came before the last read of their objects (the other events re-read them later).
    assert all(event.received_at < subscription.stripe_updated for event in events.values())
    StripeEvent.objects.filter(pk__in=[e.pk for e in events.values()]).update(
        processed_at=None, attempts=0, organization=None
    )
    monkeypatch.setattr("billing.stripe_client.MAX_NETWORK_RETRIES", 0)
    settings.STRIPE_API_BASE = closed_port_url()  # any read from Stripe would fail

    assert [stripe_event_process(e.pk) for e in events.values()] == ["current", "current"]
    for event in events.values():
        event.refresh_from_db()
        assert (event.processed_at is not None, event.organization_id) == (True, org_a.pk)

    # An event newer than the last read is read; so is a replayed one (attempts made), whatever the rows.
    newer = events["customer.subscription.created"]
    StripeEvent.objects.filter(pk=newer.pk).update(
        processed_at=None, attempts=0, received_at=subscription.stripe_updated + dt.timedelta(seconds=1)
    )
    with pytest.raises(BillingUnavailable):
        stripe_event_process(newer.pk)
    replayed = events["invoice.paid"]
    StripeEvent.objects.filter(pk=replayed.pk).update(processed_at=None, attempts=1)
    with pytest.raises(BillingUnavailable):
        stripe_event_process(replayed.pk)


def test_while_stripe_is_unreachable_the_pages_services_raise_and_save_nothing(
    billing, org_a, org_b, monkeypatch
):
    monkeypatch.setattr("billing.stripe_client.MAX_NETWORK_RETRIES", 0)
    settings.STRIPE_API_BASE = closed_port_url()
    with pytest.raises(BillingUnavailable) as unavailable:
        as_admin(org_a, admin_of(org_a), checkout_session_create, kind="service", key="workshop",
                 success_url=SUCCESS_URL, cancel_url=CANCEL_URL)  # fmt: skip
    assert "cannot be reached right now, so nothing was changed" in str(unavailable.value)
    with pytest.raises(BillingUnavailable):
        as_admin(org_b, admin_of(org_b), municipality_subscribe, "BC-9")
    assert not Purchase.objects.exists()
    assert not Subscription.objects.exists()
    account = BillingAccount.objects.get(organization=org_b)
    assert (account.stripe_customer_id, account.purchase_order_number) == ("", "")
    org_b.refresh_from_db()
    assert org_b.plan == "discovery"


def test_an_operator_replays_events_from_the_admin(billing, org_a):
    business_by_checkout(billing, org_a, admin_of(org_a))
    events = list(StripeEvent.objects.filter(type__startswith="customer.subscription."))
    events += list(StripeEvent.objects.filter(type="invoice.paid"))
    assert len(events) >= 2
    Subscription.objects.all().delete()  # as if lost: a replay rebuilds it from Stripe's state
    operator = Client(HTTP_HOST=settings.BASE_DOMAIN)
    operator.force_login(
        get_user_model().objects.create_superuser(email="ops@crowdact.test", password="ops-password-123")
    )
    changelist = reverse("admin:billing_stripeevent_changelist", urlconf="config.urls_public")

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = operator.post(
            changelist, {"action": "replay", "_selected_action": [e.pk for e in events]}, follow=True
        )

    assert response.status_code == 200
    assert f"{len(events)} events queued for replay." in response.content.decode()
    assert Subscription.objects.filter(organization=org_a, status="active").count() == 1
    for event in events:
        event.refresh_from_db()
        assert (event.attempts, event.processed_at is not None) == (2, True)
    page = operator.get(reverse("admin:billing_billingaccount_changelist", urlconf="config.urls_public"))
    assert page.status_code == 200
    assert b"alpha" in page.content.lower()
    account = BillingAccount.objects.get(organization=org_a)
    detail = operator.get(
        reverse("admin:billing_billingaccount_change", args=[account.pk], urlconf="config.urls_public")
    )
    assert detail.status_code == 200
    assert b"business" in detail.content.lower()
    assert b"sub_" in detail.content
