"""Active participants sent to Stripe's meter, for the per-active-participant price of Business.

The meter aggregates with `last`: each event carries the billing period's count so far, and the
invoice at the period's end bills the latest one. So a count is sent once a day (hourly runs send
at most one per day) and once more after the period ended, stamped inside it, with the whole
period's count. Identifiers are `<slug>:<period start>:<day>` and `<slug>:<period start>:final`:
Stripe refuses a second event with the same identifier, so a resend changes nothing. A period with
no event bills 0, so every day of a Business subscription gets one, even a count of 0.
Never in a request: background only.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError
from django.utils import timezone

from billing import stripe_client
from billing.catalogue import catalogue
from billing.models import LIVE_STATUSES, BillingAccount, Subscription, UsageReport
from billing.selectors import active_participants_count, metered_subscription
from tenants.background import enqueue_on_commit
from tenants.models import Organization

USAGE_TASK = "billing.tasks.usage_report_send"
# Stripe takes meter events stamped within the past 35 days.
METER_EVENT_MAX_AGE = dt.timedelta(days=35) - dt.timedelta(hours=1)

log = logging.getLogger(__name__)


def _identifier(organization: Organization, period_start: dt.datetime, suffix: str) -> str:
    return f"{organization.schema_name}:{period_start.astimezone(dt.UTC):%Y%m%dT%H%M%S}:{suffix}"


def _report(
    organization: Organization,
    customer: str,
    subscription_id: str,
    period: tuple[dt.datetime, dt.datetime],
    *,
    timestamp: dt.datetime,
    final: bool,
    identifier: str,
) -> UsageReport:
    known = UsageReport.objects.filter(identifier=identifier).first()
    if known is not None:
        return known
    start, end = period
    value = active_participants_count(organization, start, min(end, timestamp + dt.timedelta(seconds=1)))
    meter = catalogue().meter
    sent = stripe_client.meter_event_create(
        meter.event_name,
        {meter.customer_key: customer, meter.value_key: str(value)},
        identifier=identifier,
        timestamp=int(timestamp.timestamp()),
    )
    try:
        return UsageReport.objects.create(
            organization=organization,
            subscription_stripe_id=subscription_id,
            period_start=start,
            period_end=end,
            value=value,
            identifier=identifier,
            timestamp=timestamp,
            final=final,
            refused_as_duplicate=not sent,
        )
    except IntegrityError:  # another worker sent it meanwhile
        return UsageReport.objects.get(identifier=identifier)


def usage_report_send(organization_id: int, *, now: dt.datetime | None = None) -> list[UsageReport]:
    """Send the organisation's active participants to the meter: the whole count of each period that
    ended (if not sent yet), then today's count of the current period (if not sent yet today).
    Nothing for an organisation without a metered subscription or Stripe customer, or with billing
    not configured. Returns the reports of this run: those sent now, and today's if it was
    sent earlier (a period's final report, once sent, is not returned again)."""
    now = now or timezone.now()
    organization = Organization.objects.get(pk=organization_id)
    account = BillingAccount.objects.filter(organization=organization).first()
    if not stripe_client.configured() or account is None or not account.stripe_customer_id:
        return []
    customer = account.stripe_customer_id
    reports: list[UsageReport] = []

    # Periods that ended: known from the reports sent during them, and the stored subscription's own.
    periods = {
        (start, end, sub_id)
        for start, end, sub_id in UsageReport.objects.filter(organization=organization, period_end__lte=now)
        .values_list("period_start", "period_end", "subscription_stripe_id")
        .distinct()
    }
    for sub in Subscription.objects.filter(
        organization=organization, current_period_end__lte=now, price_lookup_keys__overlap=_metered_keys()
    ):
        if sub.current_period_start and sub.current_period_end:
            periods.add((sub.current_period_start, sub.current_period_end, sub.stripe_id))
    finished = set(
        UsageReport.objects.filter(organization=organization, final=True).values_list(
            "period_start", flat=True
        )
    )
    for start, end, sub_id in sorted(periods):
        if start in finished:
            continue
        if end < now - METER_EVENT_MAX_AGE:
            log.warning("%s: period %s–%s ended too long ago to report", organization.schema_name, start, end)
            continue
        reports.append(
            _report(
                organization,
                customer,
                sub_id,
                (start, end),
                timestamp=end - dt.timedelta(seconds=1),
                final=True,
                identifier=_identifier(organization, start, "final"),
            )
        )

    subscription = metered_subscription(organization)
    if subscription and subscription.current_period_start and subscription.current_period_end:
        start, end = subscription.current_period_start, subscription.current_period_end
        if start <= now < end:
            reports.append(
                _report(
                    organization,
                    customer,
                    subscription.stripe_id,
                    (start, end),
                    timestamp=now,
                    final=False,
                    identifier=_identifier(organization, start, f"{now.astimezone(dt.UTC):%Y-%m-%d}"),
                )
            )
    return reports


def _metered_keys() -> list[str]:
    return [price.lookup_key for _, price in catalogue().prices() if price.metered]


def usage_reports_queue() -> int:
    """Hourly (beat, public schema): one usage task per organisation with a live metered
    subscription, or with a period that just ended."""
    ids = sorted(
        set(
            Subscription.objects.filter(price_lookup_keys__overlap=_metered_keys())
            .filter(status__in=[*LIVE_STATUSES, Subscription.Status.CANCELED])
            .filter(current_period_end__gte=timezone.now() - METER_EVENT_MAX_AGE)
            .values_list("organization_id", flat=True)
        )
    )
    for organization_id in ids:
        enqueue_on_commit(USAGE_TASK, organization_id)
    return len(ids)
