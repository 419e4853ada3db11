"""Helpers shared by the billing tests: an admin to act, and the journeys through the local server."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN
from billing.models import BillingAccount, Subscription
from billing.services import billing_customer_ensure, checkout_session_create, subscription_sync
from tenants.models import Organization
from tests.billing.conftest import Billing
from tests.factories import UserFactory

SUCCESS_URL = "http://alpha.crowdact.test/manage/billing/?done={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://alpha.crowdact.test/manage/billing/"


def admin_of(organization: Organization) -> User:
    with tenant_context(organization):
        return UserFactory.create(email=f"billing@{organization.schema_name}.test", role=ORG_ADMIN)


def as_admin(organization: Organization, admin: User, service: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a service the way a page does: in the organisation's schema, as its admin."""
    with tenant_context(organization):
        return service(admin, organization, *args, **kwargs)


def business_by_checkout(billing: Billing, organization: Organization, admin: User) -> Subscription:
    """The admin upgrades through Checkout, pays on the hosted page; the webhooks are handed on."""
    url = as_admin(
        organization,
        admin,
        checkout_session_create,
        kind="plan",
        key="business",
        success_url=SUCCESS_URL,
        cancel_url=CANCEL_URL,
        locale="en",
    )
    paid = billing.pay_checkout(url)
    assert paid.status == 303, paid.body
    billing.forward()
    return Subscription.objects.get(organization=organization)


def row_organization(slug: str, kind: str = Organization.Kind.COMPANY) -> Organization:
    """An organisation row without a schema: enough for what billing keeps in the public schema."""
    organization = Organization.objects.create(schema_name=slug, name=slug.title(), kind=kind)
    BillingAccount.objects.create(organization=organization, billing_email=f"admin@{slug}.test")
    return organization


def customer_with_card(billing: Billing, organization: Organization) -> str:
    """The organisation's Stripe customer (made by the product), with a card that pays."""
    customer = billing_customer_ensure(organization)
    method = billing.client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
    billing.client.v1.customers.update(
        customer, params={"invoice_settings": {"default_payment_method": method.id}}
    )
    return customer


def business_by_api(billing: Billing, organization: Organization) -> str:
    """A Business subscription made in Stripe (as sales would in the dashboard), synced at once."""
    customer = customer_with_card(billing, organization)
    prices = {
        p.lookup_key: p.id
        for p in billing.client.v1.prices.list(
            params={"lookup_keys": ["business_base_monthly", "business_active_participant"]}
        )
    }
    sub = billing.client.v1.subscriptions.create(
        params={
            "customer": customer,
            "items": [
                {"price": prices["business_base_monthly"]},
                {"price": prices["business_active_participant"]},
            ],
            "metadata": {"organization": organization.schema_name},
        }
    )
    subscription_sync(sub.id)
    return sub.id


def near(value: dt.datetime | None, expected: dt.datetime, seconds: float = 120) -> bool:
    return value is not None and abs((value - expected).total_seconds()) <= seconds


def now() -> dt.datetime:
    return timezone.now()
