"""An organisation's billing account and its Stripe customer."""

from __future__ import annotations

import logging

from django.db import transaction

from billing import stripe_client
from billing.errors import BillingNotConfigured
from billing.models import BillingAccount
from tenants.background import enqueue_on_commit
from tenants.models import Organization
from tenants.services import Provisioning

CUSTOMER_TASK = "billing.tasks.billing_customer_create"

log = logging.getLogger(__name__)


def billing_setup(provisioning: Provisioning) -> None:
    """Provisioning step (ORGANIZATION_SETUP): the organisation's billing row, on Discovery; its Stripe
    customer is created in the background once provisioning commits (no Stripe call while the person
    who signs up waits)."""
    BillingAccount.objects.get_or_create(
        organization=provisioning.organization, defaults={"billing_email": provisioning.admin_email}
    )
    enqueue_on_commit(CUSTOMER_TASK, provisioning.organization.pk)


def billing_account(organization: Organization) -> BillingAccount:
    """The organisation's billing row (made now for an organisation older than billing)."""
    account, _ = BillingAccount.objects.get_or_create(organization=organization)
    return account


def billing_customer_ensure(organization: Organization) -> str:
    """The organisation's Stripe customer id, creating the customer when there is none yet.

    A customer already on Stripe with metadata[organization] = the slug (made by sales in the
    dashboard, or by an earlier attempt) is adopted rather than duplicated; the idempotency key
    makes two concurrent attempts create one customer. Raises BillingNotConfigured,
    BillingUnavailable.
    """
    account = billing_account(organization)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    if not stripe_client.configured():
        raise BillingNotConfigured()
    slug = organization.schema_name
    found = stripe_client.customer_search(f"metadata['organization']:'{slug}'")
    if found:
        customer = min(found, key=lambda c: (c.get("created") or 0, c["id"]))  # the first one made
    else:
        customer = stripe_client.customer_create(
            {
                "name": organization.name,
                **({"email": account.billing_email} if account.billing_email else {}),
                "preferred_locales": [organization.locale],
                "metadata": {"organization": slug},
            },
            idempotency_key=f"crowdact-customer-{slug}-{account.pk}",
        )
    with transaction.atomic():
        BillingAccount.objects.filter(pk=account.pk, stripe_customer_id="").update(
            stripe_customer_id=customer["id"]
        )
    account.refresh_from_db(fields=["stripe_customer_id"])
    return account.stripe_customer_id


def billing_customer_create(organization_id: int) -> str | None:
    """Background: make sure the organisation has its Stripe customer. Skipped (None) when billing is
    not configured; Stripe unreachable raises BillingUnavailable, and the task retries."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None:
        return None
    if not stripe_client.configured():
        log.info("billing is not configured: no Stripe customer for %s", organization.schema_name)
        return None
    return billing_customer_ensure(organization)
