"""The billing banner every page of a late organisation shows (templates/billing/_banner.html)."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from billing.selectors import grace_end
from core.permissions import can_manage
from tenants.models import Organization

BillingState = Organization.BillingState


def billing_banner(request: HttpRequest) -> dict[str, Any]:
    """`billing_banner` when the organisation is late: while the grace period runs, its admins see
    until when to pay; once read-only, everyone signed in sees it (admins with the way to pay).

    No query while the organisation is in good standing: its state is on the request's organisation.
    """
    organization = getattr(request, "organization", None)
    if organization is None or organization.billing_state not in (
        BillingState.PAST_DUE,
        BillingState.READ_ONLY,
    ):
        return {}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    admin = can_manage(user)
    if organization.billing_state == BillingState.PAST_DUE and not admin:
        return {}
    return {
        "billing_banner": {
            "state": organization.billing_state,
            "admin": admin,
            # A town pays its invoice by transfer: nothing "failed", the invoice is overdue.
            "invoiced": organization.plan == Organization.Plan.MUNICIPALITY,
            "grace_until": grace_end(organization),
            "url": reverse("billing:manage"),
        }
    }
