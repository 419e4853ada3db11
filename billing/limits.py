"""The provider of ORGANIZATION_LIMITS (tenants/limits.py): what the organisation's plan allows, from
the catalogue, with the billing period whose active participants count.

Called on every pledge and contribution, so it stays cheap: an unlimited plan answers from the
catalogue (read once per process) and the organisation row already loaded, with no query; a limited
plan without a metered price (Discovery) counts per calendar month in the organisation's time zone,
also without a query. Only a limited plan with a metered price would read its subscription's period.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from billing.selectors import billing_period, organization_plan
from tenants.limits import NO_LIMITS, OrganizationLimits
from tenants.models import Organization


def organization_limits(organization: Organization, now: dt.datetime | None = None) -> OrganizationLimits:
    plan = organization_plan(organization)
    limits = plan.limits
    if limits.open_challenges is None and limits.active_participants is None:
        return NO_LIMITS
    start = end = None
    if limits.active_participants is not None:
        now = now or timezone.now()
        if plan.metered_price is None:
            start, end = calendar_month(organization, now)
        else:
            start, end = billing_period(organization, now)
    return OrganizationLimits(
        open_challenges=limits.open_challenges,
        active_participants=limits.active_participants,
        period_start=start,
        period_end=end,
    )


def calendar_month(organization: Organization, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The month around `now` in the organisation's time zone: billing_period's answer for an
    organisation with no metered subscription (a plan without a metered price has none)."""
    local = now.astimezone(zoneinfo.ZoneInfo(organization.timezone))
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    return month_start.astimezone(dt.UTC), next_month.astimezone(dt.UTC)
