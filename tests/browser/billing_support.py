"""What the billing browser tests share: the local Stripe server pointed at the live server, and
organisations put in a billing state for a test and put back afterwards.

Billing's rows live in the public schema, which `browser_cleanup` (tests/browser/conftest.py) leaves
alone: what these tests change there (plan, billing state, subscriptions, invoices, events) is put
back as it was when they are over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from billing.models import BillingAccount, Invoice, Purchase, StripeEvent, Subscription
from tests.billing.conftest import API_KEY, LocalStripe, start_local_stripe, wait_idle
from tests.browser.support import LiveServer, organization

WEBHOOK_PATH = "/billing/stripe/webhook/"


@contextlib.contextmanager
def stripe_for(web_server: LiveServer) -> Iterator[LocalStripe]:
    """A local Stripe server of its own, whose webhooks go to the live server's public host, and
    the product configured against it (settings the live server's threads read too), the
    catalogue synced. Everything billing made is removed afterwards."""
    from billing.services import catalogue_sync

    started = timezone.now()
    server = start_local_stripe()
    secret = "whsec_" + secrets.token_hex(16)
    webhook_url = f"http://{settings.BASE_DOMAIN}:{web_server.port}{WEBHOOK_PATH}"  # the public host
    server.call("POST", "/_local/webhook", {"url": webhook_url, "secret": secret})
    server.secret = secret
    overrides = override_settings(
        STRIPE_SECRET_KEY=API_KEY, STRIPE_API_BASE=server.base_url, STRIPE_WEBHOOK_SECRET=secret
    )
    overrides.enable()
    try:
        catalogue_sync()
        wait_idle(server)  # the catalogue's own events (product.created...) are delivered first
        yield server
    finally:
        with contextlib.suppress(AssertionError):
            wait_idle(server)
        overrides.disable()
        server.stop()
        StripeEvent.objects.filter(received_at__gte=started).delete()


@contextlib.contextmanager
def billing_state(slug: str, **fields: Any) -> Iterator[Any]:
    """The organisation in the given billing state for the block (its fields such as plan and
    billing_state, its billing account's such as grace_until), as it was afterwards, with the
    subscriptions, invoices and purchases made in the block gone."""
    org = organization(slug)
    account = BillingAccount.objects.get(organization=org)
    before = {"plan": org.plan, "billing_state": org.billing_state}
    kept = {
        "grace_until": account.grace_until,
        "stripe_customer_id": account.stripe_customer_id,
        "purchase_order_number": account.purchase_order_number,
    }
    account_fields = {name: fields.pop(name) for name in list(fields) if name in kept}
    try:
        if fields:
            type(org).objects.filter(pk=org.pk).update(**fields)
        if account_fields:
            BillingAccount.objects.filter(pk=account.pk).update(**account_fields)
        yield org
    finally:
        for model in (Purchase, Invoice, Subscription):
            model.objects.filter(organization=org).delete()
        type(org).objects.filter(pk=org.pk).update(**before)
        BillingAccount.objects.filter(pk=account.pk).update(**kept)


def paid_plan(
    slug: str,
    plan: str,
    *,
    invoices: list[dict[str, Any]],
    collection_method: str = "charge_automatically",
    status: str = "active",
) -> Subscription:
    """Rows as the webhooks leave them for an organisation on a paid plan: its subscription (this
    month's period) and its invoices, newest first (each: number, status, total, days_ago, due_in)."""
    org = organization(slug)
    now = timezone.now()
    lookup_keys = {"business": ["business_base_monthly", "business_active_participant"]}
    subscription = Subscription.objects.create(
        stripe_id=f"sub_{slug}_shown",
        organization=org,
        stripe_customer_id=f"cus_{slug}_shown",
        status=status,
        plan=plan,
        collection_method=collection_method,
        price_lookup_keys=lookup_keys.get(plan, [f"{plan}_yearly"]),
        current_period_start=now - dt.timedelta(days=10),
        current_period_end=now + dt.timedelta(days=20 if plan == "business" else 355),
        stripe_created=now - dt.timedelta(days=40),
        stripe_updated=now,
    )
    for spec in invoices:
        created = now - dt.timedelta(days=spec.get("days_ago", 0))
        due_in = spec.get("due_in")
        Invoice.objects.create(
            stripe_id=f"in_{slug}_{spec['number']}",
            organization=org,
            subscription_stripe_id=subscription.stripe_id,
            number=spec["number"],
            status=spec["status"],
            collection_method=collection_method,
            currency="eur",
            total=spec["total"],
            amount_due=spec["total"],
            amount_paid=spec["total"] if spec["status"] == "paid" else 0,
            attempt_count=spec.get("attempts", 1 if collection_method == "charge_automatically" else 0),
            hosted_invoice_url=f"https://invoice.stripe.com/i/{spec['number']}",
            invoice_pdf=f"https://pay.stripe.com/invoice/{spec['number']}/pdf",
            created=created,
            finalized_at=created,
            due_date=now + dt.timedelta(days=due_in) if due_in is not None else None,
            paid_at=created if spec["status"] == "paid" else None,
            stripe_updated=now,
        )
    return subscription


def bought(slug: str, service: str, total: int, number: str) -> Purchase:
    """A paid service bought a week ago, with its paid invoice."""
    org = organization(slug)
    paid_at = timezone.now() - dt.timedelta(days=7)
    invoice = Invoice.objects.create(
        stripe_id=f"in_{slug}_{number}",
        organization=org,
        number=number,
        status="paid",
        currency="eur",
        total=total,
        amount_paid=total,
        hosted_invoice_url=f"https://invoice.stripe.com/i/{number}",
        invoice_pdf=f"https://pay.stripe.com/invoice/{number}/pdf",
        created=paid_at,
        paid_at=paid_at,
        stripe_updated=paid_at,
    )
    return Purchase.objects.create(
        organization=org,
        service=service,
        checkout_session_id=f"cs_{slug}_{number}",
        status="paid",
        amount_total=total,
        currency="eur",
        invoice=invoice,
        paid_at=paid_at,
    )
