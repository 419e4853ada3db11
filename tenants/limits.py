"""What an organisation's plan allows, and whether it may write at all.

The plans live in billing/, above the apps that enforce them (challenges/ must not import billing),
so the limits come through a seam, as provisioning steps do: the ORGANIZATION_LIMITS setting names a
function `provider(organization, now) -> OrganizationLimits` (billing.limits.organization_limits in
the product). With no provider, nothing is limited.

The provider is called on hot paths (every pledge): for an unlimited plan it must answer without a
query.

    organization_limits(organization, now=None) -> OrganizationLimits
    current_organization() -> Organization | None      # the one whose schema this runs in, as loaded
    organization_read_only(organization) -> bool        # unpaid past the grace period
    organization_billing_url(organization) -> str       # its billing page, where it upgrades or pays
    billing_path() -> str                               # the same, as a path of its host
    read_only_refusal(organization) -> OrganizationReadOnly  # the sentence a refused write gets
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext

from core.errors import OrganizationReadOnly
from tenants.db import tenant_connection
from tenants.models import Organization
from tenants.selectors import organization_url

# Where the billing page is when its URL name is not (yet) in the organisation's URL conf.
BILLING_PATH = "/manage/billing/"


@dataclass(frozen=True)
class OrganizationLimits:
    """None means unlimited. `period_start` and `period_end` bound the billing period whose active
    participants count (people who pledged or contributed in it); set when active_participants is."""

    open_challenges: int | None = None
    active_participants: int | None = None
    period_start: dt.datetime | None = None
    period_end: dt.datetime | None = None

    @property
    def unlimited(self) -> bool:
        return self.open_challenges is None and self.active_participants is None


NO_LIMITS = OrganizationLimits()

Provider = Callable[[Organization, dt.datetime | None], OrganizationLimits]


@functools.cache
def _provider(path: str) -> Provider:
    provider: Provider = import_string(path)
    return provider


def organization_limits(organization: Organization, now: dt.datetime | None = None) -> OrganizationLimits:
    """The limits of the organisation's plan at `now` (default: now), from ORGANIZATION_LIMITS."""
    path = getattr(settings, "ORGANIZATION_LIMITS", "")
    if not path:
        return NO_LIMITS
    return _provider(path)(organization, now)


def current_organization() -> Organization | None:
    """The organisation whose schema this code runs in, as the request's routing (or the task's
    tenant_context) loaded it: no query. None in the public schema."""
    tenant = tenant_connection().tenant
    return tenant if isinstance(tenant, Organization) else None


def organization_read_only(organization: Organization) -> bool:
    """Unpaid past the grace period: its pages and API read, every write is refused, nothing is
    deleted; paying makes it active again."""
    return organization.billing_state == Organization.BillingState.READ_ONLY


def billing_path() -> str:
    """The path of the billing page on an organisation's host."""
    try:
        return reverse("billing:manage", urlconf=settings.ROOT_URLCONF)
    except NoReverseMatch:
        return BILLING_PATH


def organization_billing_url(organization: Organization) -> str:
    """The organisation's billing page (absolute), where it upgrades its plan or pays."""
    return organization_url(organization, billing_path())


def read_only_refusal(organization: Organization) -> OrganizationReadOnly:
    """The refusal of a write while the organisation is read-only, in the current language."""
    return OrganizationReadOnly(
        gettext(
            "%(organization)s is read-only until a payment is settled: every page can still be read, "
            "but nothing can be changed for now. Nothing has been deleted."
        )
        % {"organization": organization.name},
        upgrade_url=organization_billing_url(organization),
    )
