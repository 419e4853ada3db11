"""Billing journeys end to end against the local Stripe server: Checkout, invoices, paid services,
dunning, reconciliation; the plan and billing state follow what Stripe says."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import TestCase
from django.utils import translation
from django.utils.translation import gettext
from django_tenants.utils import tenant_context

from accounts.roles import EXECUTIVE
from billing import selectors
from billing.errors import BillingNotConfigured
from billing.models import BillingAccount, Invoice, Purchase, StripeEvent, Subscription
from billing.services import (
    billing_grace_expire,
    billing_portal_url,
    checkout_session_create,
    municipality_subscribe,
    organization_subscriptions_reconcile,
    subscription_apply,
    subscriptions_reconcile_queue,
)
from tenants.models import Organization
from tenants.services import organization_create
from tests.billing.support import (
    CANCEL_URL,
    SUCCESS_URL,
    admin_of,
    as_admin,
    business_by_api,
    business_by_checkout,
    near,
    now,
)
from tests.factories import UserFactory

State = Organization.BillingState


def test_free_then_checkout_then_the_webhook_puts_the_organisation_on_business(billing, org_a):
    admin = admin_of(org_a)
    assert (org_a.plan, org_a.billing_state) == ("discovery", "active")
    assert selectors.plan_limits(org_a).open_challenges == 1

    url = as_admin(
        org_a,
        admin,
        checkout_session_create,
        kind="plan",
        key="business",
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        locale="en",
    )
    session_id = url.rsplit("/", 1)[1]
    session = billing.client.v1.checkout.sessions.retrieve(session_id).to_dict()
    assert (session["mode"], session["tax_id_collection"]["enabled"]) == ("subscription", True)
    assert session["metadata"] == {"organization": "alpha", "kind": "plan", "key": "business"}
    assert session["customer"] == BillingAccount.objects.get(organization=org_a).stripe_customer_id
    org_a.refresh_from_db()
    assert org_a.plan == "discovery", "the plan changes when Stripe says it is paid, not before"

    paid = billing.pay_checkout(url, tax_id="FR12345678901")
    assert paid.status == 303
    assert paid.headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session_id)
    responses = billing.forward()

    assert responses, "the local server sent its webhooks"
    org_a.refresh_from_db()
    assert (org_a.plan, org_a.billing_state) == ("business", "active")
    assert selectors.plan_limits(org_a).open_challenges is None
    sub = selectors.current_subscription(org_a)
    assert sub is not None
    assert (sub.status, sub.plan, sub.collection_method) == ("active", "business", "charge_automatically")
    assert sorted(sub.price_lookup_keys) == ["business_active_participant", "business_base_monthly"]
    assert sub.current_period_end is not None
    assert sub.current_period_end > now() + dt.timedelta(days=27)
    stripe_sub = billing.client.v1.subscriptions.retrieve(sub.stripe_id).to_dict()
    assert stripe_sub["metadata"] == {"organization": "alpha", "plan": "business"}
    [invoice] = selectors.invoice_list(org_a)
    assert (invoice.status, invoice.total, invoice.currency) == ("paid", 4900, "eur")
    assert invoice.hosted_invoice_url.startswith(billing.server.base_url)
    assert StripeEvent.objects.filter(processed_at__isnull=True).count() == 0
    assert StripeEvent.objects.filter(type="checkout.session.completed", organization=org_a).count() == 1

    with pytest.raises(ValidationError, match="already has a subscription"):
        as_admin(
            org_a, admin, checkout_session_create, kind="plan", key="business",
            success_url=SUCCESS_URL, cancel_url=CANCEL_URL,
        )  # fmt: skip


def test_only_an_admin_starts_a_checkout_and_a_refusal_saves_nothing(billing, org_a):
    with tenant_context(org_a):
        executive = UserFactory.create(email="exec@alpha.test", role=EXECUTIVE)
    service_args = {
        "kind": "service",
        "key": "workshop",
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
    }
    for service, args in (
        (checkout_session_create, service_args),
        (municipality_subscribe, {"purchase_order_number": "PO-1"}),
    ):
        with pytest.raises(PermissionDenied):
            as_admin(org_a, executive, service, **args)
    assert not Purchase.objects.exists()
    assert BillingAccount.objects.get(organization=org_a).stripe_customer_id == ""
    assert billing.client.v1.customers.list().data == []


def test_a_municipality_subscribes_by_invoice_with_its_purchase_order_then_pays_by_transfer(billing, org_b):
    admin = admin_of(org_b)

    subscription = as_admin(org_b, admin, municipality_subscribe, "  BC-2026-042 ")

    org_b.refresh_from_db()
    assert (org_b.plan, org_b.billing_state) == ("municipality", "active")
    assert (subscription.status, subscription.collection_method) == ("active", "send_invoice")
    assert subscription.price_lookup_keys == ["municipality_yearly"]
    assert BillingAccount.objects.get(organization=org_b).purchase_order_number == "BC-2026-042"
    [invoice] = selectors.invoice_list(org_b)
    assert (invoice.status, invoice.total, invoice.collection_method) == ("open", 240000, "send_invoice")
    with translation.override("fr"):  # beta is French: "Bon de commande" once the catalogue has it
        po_field = {"name": gettext("Purchase order"), "value": "BC-2026-042"}
    assert invoice.custom_fields == [po_field]
    assert near(invoice.due_date, now() + dt.timedelta(days=30))
    on_stripe = billing.client.v1.invoices.retrieve(invoice.stripe_id).to_dict()
    assert on_stripe["custom_fields"] == [po_field]
    billing.forward()  # subscription.created, invoice.finalized, invoice.sent...
    org_b.refresh_from_db()
    assert org_b.billing_state == "active"

    billing.client.v1.invoices.pay(invoice.stripe_id, params={"paid_out_of_band": True})
    billing.forward()

    invoice.refresh_from_db()
    org_b.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == ("paid", 240000)
    assert (org_b.plan, org_b.billing_state) == ("municipality", "active")
    with pytest.raises(ValidationError, match="already has a subscription"):
        as_admin(org_b, admin, municipality_subscribe, "BC-2")


def test_the_municipality_plan_needs_a_municipality_and_a_purchase_order(billing, org_a, org_b):
    with pytest.raises(ValidationError, match="not offered to this kind of organisation"):
        as_admin(org_a, admin_of(org_a), municipality_subscribe, "PO-1")
    with pytest.raises(ValidationError) as missing:
        as_admin(org_b, admin_of(org_b), municipality_subscribe, "   ")
    assert "purchase_order_number" in missing.value.message_dict
    assert not Subscription.objects.exists()
    assert billing.client.v1.subscriptions.list().data == []


def test_a_paid_service_is_bought_once_with_an_invoice(billing, org_a):
    admin = admin_of(org_a)
    url = as_admin(
        org_a, admin, checkout_session_create, kind="service", key="reviewed_report",
        success_url=SUCCESS_URL, cancel_url=CANCEL_URL, locale="fr",
    )  # fmt: skip
    purchase = Purchase.objects.get(organization=org_a)
    assert (purchase.service, purchase.status, purchase.amount_total) == ("reviewed_report", "open", 45000)
    assert purchase.bought_by == "billing@alpha.test"
    session = billing.client.v1.checkout.sessions.retrieve(purchase.checkout_session_id).to_dict()
    assert (session["mode"], session["invoice_creation"]["enabled"]) == ("payment", True)
    assert session["tax_id_collection"]["enabled"] is True
    assert session["metadata"]["organization"] == "alpha"

    assert billing.pay_checkout(url).status == 303
    billing.forward()

    purchase.refresh_from_db()
    org_a.refresh_from_db()
    assert purchase.status == "paid"
    assert purchase.paid_at is not None
    assert purchase.invoice is not None
    assert (purchase.invoice.status, purchase.invoice.total) == ("paid", 45000)
    assert purchase.invoice.invoice_pdf.endswith("/pdf")
    assert list(selectors.purchase_list(org_a, paid_only=True)) == [purchase]
    assert (org_a.plan, org_a.billing_state) == ("discovery", "active"), "a service is no plan"

    with pytest.raises(ValidationError, match="not offered"):
        as_admin(org_a, admin, checkout_session_create, kind="service", key="massage",
                 success_url=SUCCESS_URL, cancel_url=CANCEL_URL)  # fmt: skip


def test_dunning_failed_payment_grace_read_only_then_paid_restores_it(billing, org_a, settings):
    settings.BILLING_GRACE_DAYS = 14
    sub = business_by_checkout(billing, org_a, admin_of(org_a))
    billing.server.call("POST", f"/_local/subscriptions/{sub.stripe_id}/fail_next_payment")

    renewed = billing.server.call("POST", f"/_local/subscriptions/{sub.stripe_id}/advance")
    failed_at = dt.datetime.fromtimestamp(renewed["latest_invoice"]["created"], tz=dt.UTC)
    billing.forward()

    org_a.refresh_from_db()
    assert org_a.billing_state == "past_due"
    grace = selectors.grace_end(org_a)
    assert grace is not None
    assert near(grace, failed_at + dt.timedelta(days=14), seconds=2)
    assert billing_grace_expire(now=grace - dt.timedelta(minutes=1)) == 0
    org_a.refresh_from_db()
    assert org_a.billing_state == "past_due"

    assert billing_grace_expire(now=grace + dt.timedelta(seconds=1)) == 1  # the hourly job, a fortnight on
    org_a.refresh_from_db()
    assert (org_a.plan, org_a.billing_state) == ("business", "read_only")
    assert selectors.billing_read_only(org_a)
    assert billing_grace_expire(now=grace + dt.timedelta(hours=1)) == 0

    billing.client.v1.invoices.pay(renewed["latest_invoice"]["id"])  # the customer pays at last
    billing.forward()

    org_a.refresh_from_db()
    assert (org_a.plan, org_a.billing_state) == ("business", "active")
    assert selectors.grace_end(org_a) is None
    assert BillingAccount.objects.get(organization=org_a).grace_until is None


def test_a_municipality_has_thirty_days_of_grace(billing, org_b):
    as_admin(org_b, admin_of(org_b), municipality_subscribe, "BC-7")
    invoice = Invoice.objects.get(organization=org_b)
    billing.forward()
    billing.server.call("POST", f"/_local/invoices/{invoice.stripe_id}/fail")
    billing.forward()
    org_b.refresh_from_db()
    assert org_b.billing_state == "past_due"
    invoice.refresh_from_db()
    assert invoice.finalized_at is not None
    assert selectors.grace_end(org_b) == invoice.finalized_at + dt.timedelta(days=30)


def test_cancelled_at_period_end_then_ended_goes_back_to_discovery(billing, org_a):
    sub = business_by_checkout(billing, org_a, admin_of(org_a))
    billing.client.v1.subscriptions.update(sub.stripe_id, params={"cancel_at_period_end": True})
    billing.forward()
    sub.refresh_from_db()
    org_a.refresh_from_db()
    assert (sub.cancel_at_period_end, org_a.plan, org_a.billing_state) == (True, "business", "active")

    billing.server.call("POST", f"/_local/subscriptions/{sub.stripe_id}/advance")
    billing.forward()
    sub.refresh_from_db()
    org_a.refresh_from_db()
    assert sub.status == "canceled"
    assert (org_a.plan, org_a.billing_state) == ("discovery", "canceled")
    assert selectors.current_subscription(org_a) is None


def test_the_billing_portal_opens_for_the_organisations_customer_in_its_language(billing, org_b):
    url = as_admin(org_b, admin_of(org_b), billing_portal_url, "http://beta.crowdact.test/manage/billing/")
    assert url.startswith(f"{billing.server.base_url}/billing_portal/bps_")
    customer = BillingAccount.objects.get(organization=org_b).stripe_customer_id
    assert billing.client.v1.customers.retrieve(customer).to_dict()["metadata"] == {"organization": "beta"}


def test_a_subscription_made_in_stripes_dashboard_is_found_by_the_nightly_reconciliation(billing, org_a):
    customer = billing.client.v1.customers.create(params={"metadata": {"organization": "alpha"}})
    method = billing.client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    price = billing.client.v1.prices.list(params={"lookup_keys": ["business_base_monthly"]}).data[0]
    made = billing.client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": method.id,
            "metadata": {"organization": "alpha"},
        }
    )
    org_a.refresh_from_db()
    assert org_a.plan == "discovery"  # no webhook handed on: the product has not heard of it

    assert organization_subscriptions_reconcile(org_a.pk) == 1

    org_a.refresh_from_db()
    assert (org_a.plan, org_a.billing_state) == ("business", "active")
    assert BillingAccount.objects.get(organization=org_a).stripe_customer_id == customer.id, "adopted"
    assert Subscription.objects.get(organization=org_a).stripe_id == made.id
    with TestCase.captureOnCommitCallbacks(execute=True):
        assert subscriptions_reconcile_queue() == 1  # alpha is paying now; beta is not


def test_a_stale_copy_never_overwrites_a_newer_one(billing, org_a):
    sub_id = business_by_api(billing, org_a)
    newer = billing.client.v1.subscriptions.retrieve(sub_id).to_dict()
    older = {**newer, "status": "past_due"}
    later, earlier = now(), now() - dt.timedelta(seconds=5)

    subscription_apply(newer, read_at=later)
    subscription_apply(older, read_at=earlier)  # a slow worker's read, from before

    row = Subscription.objects.get(stripe_id=sub_id)
    assert (row.status, row.stripe_updated) == ("active", later)
    subscription_apply(older, read_at=later + dt.timedelta(seconds=1))
    row.refresh_from_db()
    assert row.status == "past_due"


def test_provisioning_makes_the_billing_row_and_the_customer_after_commit(billing):
    with TestCase.captureOnCommitCallbacks(execute=True) as queued:
        made = organization_create(
            slug="gamma", name="Gamma", kind="association", admin_email="admin@gamma.test", locale="fr"
        )
    assert queued, "the customer is made once provisioning has committed"
    account = BillingAccount.objects.get(organization=made.organization)
    assert account.billing_email == "admin@gamma.test"
    customer = billing.client.v1.customers.retrieve(account.stripe_customer_id).to_dict()
    assert (customer["metadata"], customer["name"], customer["email"]) == (
        {"organization": "gamma"},
        "Gamma",
        "admin@gamma.test",
    )
    assert (made.organization.plan, made.organization.billing_state) == ("discovery", "active")


def test_without_stripe_configured_provisioning_works_and_the_services_say_so(settings, org_a):
    settings.STRIPE_SECRET_KEY = ""
    with TestCase.captureOnCommitCallbacks(execute=True):
        made = organization_create(
            slug="delta", name="Delta", kind="company", admin_email="admin@delta.test", locale="en"
        )
    assert BillingAccount.objects.get(organization=made.organization).stripe_customer_id == ""
    assert not selectors.billing_configured()
    with pytest.raises(BillingNotConfigured) as refused:
        as_admin(org_a, admin_of(org_a), checkout_session_create, kind="plan", key="business",
                 success_url=SUCCESS_URL, cancel_url=CANCEL_URL)  # fmt: skip
    assert str(refused.value) == "Billing is not configured on this server."
    assert selectors.billing_overview(org_a).configured is False
