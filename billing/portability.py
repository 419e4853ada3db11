"""Billing's public-schema rows of one organisation, for its export and import (tenants/portability.py).

Named in the ORGANIZATION_PUBLIC_ROWS setting, so that tenants carries them without importing billing.
"""

from collections.abc import Sequence

from django.db.models import QuerySet

from billing.models import BillingAccount, Invoice, Purchase, StripeEvent, Subscription, UsageReport
from tenants.models import Organization


def organization_billing_rows(organization: Organization) -> Sequence[QuerySet]:
    """Every billing row tied to the organisation, in an order where a row's foreign keys point to
    the organisation or to rows before it (a purchase's invoice comes first)."""
    return [
        BillingAccount.objects.filter(organization=organization),
        Subscription.objects.filter(organization=organization),
        Invoice.objects.filter(organization=organization),
        Purchase.objects.filter(organization=organization),
        StripeEvent.objects.filter(organization=organization),
        UsageReport.objects.filter(organization=organization),
    ]
