"""Active participants to Stripe's meter: the period's distinct people who pledged or contributed, sent
daily and after the period, with identifiers that make a resend harmless."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from billing import selectors
from billing.models import BillingAccount, Subscription, UsageReport
from billing.services import usage_report_send, usage_reports_queue
from challenges.models import Challenge, Contribution, Metric, Pledge
from tenants.models import Organization
from tests.billing.conftest import Billing
from tests.billing.support import business_by_api
from tests.factories import ChallengeFactory, UserFactory


def _meter_events(billing: Billing, organization: Organization, **bounds: int) -> dict[str, Any]:
    customer = BillingAccount.objects.get(organization=organization).stripe_customer_id
    query = "&".join(f"{k}={v}" for k, v in bounds.items())
    found: dict[str, Any] = billing.server.call(
        "GET", f"/_local/meter_events?customer={customer}&event_name=crowdact_active_participants&{query}"
    )
    return found


def _participants(organization: Organization, period_start: dt.datetime) -> list[User]:
    """Five people took part this period (one erased since), one only before it, one not at all."""
    with tenant_context(organization):
        challenge = ChallengeFactory.create()
        quantity = ChallengeFactory.create(
            goal_kind=Challenge.GoalKind.QUANTITY, metric=Metric.objects.first()
        )
        people = [UserFactory.create() for _ in range(7)]
        for person in people[:3]:
            Pledge.objects.create(challenge=challenge, user=person)
        Pledge.objects.create(challenge=quantity, user=people[0])  # one person, twice: counted once
        for person in people[2:4]:
            Contribution.objects.create(
                challenge=quantity, user=person, day=timezone.localdate(), amount=Decimal("3.5")
            )
        erased = people[4]
        Pledge.objects.create(challenge=challenge, user=erased, withdrawn_at=timezone.now())
        User.objects.filter(pk=erased.pk).update(email="erased-x@invalid", erased_at=timezone.now())
        before = Pledge.objects.create(challenge=quantity, user=people[5])
        Pledge.objects.filter(pk=before.pk).update(created_at=period_start - dt.timedelta(hours=1))
        return people


def test_the_daily_count_is_the_periods_distinct_active_participants_sent_once(billing, org_a):
    business_by_api(billing, org_a)
    sub = Subscription.objects.get(organization=org_a)
    assert sub.current_period_start is not None
    _participants(org_a, sub.current_period_start)
    now = timezone.now()

    [report] = usage_report_send(org_a.pk, now=now)

    assert report.value == 5
    assert report.identifier == f"alpha:{sub.current_period_start:%Y%m%dT%H%M%S}:{now:%Y-%m-%d}"
    assert (report.final, report.refused_as_duplicate, report.period_end) == (
        False,
        False,
        sub.current_period_end,
    )
    sent = _meter_events(billing, org_a)
    assert [e["identifier"] for e in sent["events"]] == [report.identifier]
    assert sent["events"][0]["payload"] == {
        "stripe_customer_id": BillingAccount.objects.get(organization=org_a).stripe_customer_id,
        "value": "5",
    }
    assert (sent["meters"][0]["formula"], sent["meters"][0]["aggregated_value"]) == ("last", 5)
    assert selectors.active_participants_this_period(org_a) == 5

    # The hourly run again, the same day: nothing more is sent.
    assert usage_report_send(org_a.pk, now=now + dt.timedelta(hours=1)) == [report]
    assert len(_meter_events(billing, org_a)["events"]) == 1


def test_a_resend_is_refused_by_stripe_and_changes_nothing(billing, org_a):
    business_by_api(billing, org_a)
    sub = Subscription.objects.get(organization=org_a)
    assert sub.current_period_start is not None
    people = _participants(org_a, sub.current_period_start)
    now = timezone.now()
    [first] = usage_report_send(org_a.pk, now=now)
    with tenant_context(org_a):
        Pledge.objects.create(challenge=Challenge.objects.earliest("pk"), user=people[6])
    UsageReport.objects.all().delete()  # as if the worker died after sending, before saving

    [again] = usage_report_send(org_a.pk, now=now)

    assert again.identifier == first.identifier
    assert (again.value, again.refused_as_duplicate) == (6, True)
    sent = _meter_events(billing, org_a)
    assert len(sent["events"]) == 1
    assert sent["meters"][0]["aggregated_value"] == 5, "Stripe kept the first event"


def test_after_the_period_ends_its_whole_count_is_sent_inside_it(billing, org_a):
    business_by_api(billing, org_a)
    sub = Subscription.objects.get(organization=org_a)
    assert sub.current_period_start is not None
    people = _participants(org_a, sub.current_period_start)
    [daily] = usage_report_send(org_a.pk)
    with tenant_context(org_a):
        Pledge.objects.create(challenge=Challenge.objects.earliest("pk"), user=people[6])
    ended = (timezone.now() + dt.timedelta(seconds=1)).replace(microsecond=0)
    Subscription.objects.filter(pk=sub.pk).update(current_period_end=ended)  # the period is over
    UsageReport.objects.filter(pk=daily.pk).update(period_end=ended)

    reports = usage_report_send(org_a.pk, now=ended + dt.timedelta(minutes=30))

    [final] = [r for r in reports if r.final]
    assert final.identifier == f"alpha:{sub.current_period_start:%Y%m%dT%H%M%S}:final"
    assert (final.value, final.timestamp) == (6, ended - dt.timedelta(seconds=1))
    in_period = _meter_events(
        billing, org_a, start_time=int(sub.current_period_start.timestamp()), end_time=int(ended.timestamp())
    )
    assert in_period["meters"][0]["aggregated_value"] == 6
    assert usage_report_send(org_a.pk, now=ended + dt.timedelta(minutes=90)) == [], "sent once"
    assert len(_meter_events(billing, org_a)["events"]) == 2


def test_the_cycle_invoice_bills_the_last_count(billing, org_a):
    sub_id = business_by_api(billing, org_a)
    sub = Subscription.objects.get(organization=org_a)
    assert sub.current_period_start is not None
    _participants(org_a, sub.current_period_start)
    usage_report_send(org_a.pk)

    renewed = billing.server.call("POST", f"/_local/subscriptions/{sub_id}/advance")

    lines = {
        line["pricing"]["price_details"]["price"]: line for line in renewed["latest_invoice"]["lines"]["data"]
    }
    metered = billing.client.v1.prices.list(params={"lookup_keys": ["business_active_participant"]}).data[0]
    assert (lines[metered.id]["quantity"], lines[metered.id]["amount"]) == (5, 5 * 150)


def test_an_organisation_without_a_metered_subscription_sends_nothing(billing, org_a, org_b):
    assert usage_report_send(org_a.pk) == []
    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        assert usage_reports_queue() == 0
    business_by_api(billing, org_a)
    with TestCase.captureOnCommitCallbacks(execute=True) as queued:
        assert usage_reports_queue() == 1
    assert len(queued) == 1
    assert UsageReport.objects.filter(organization=org_a).count() == 1
    assert not UsageReport.objects.filter(organization=org_b).exists()


@pytest.mark.parametrize("timezone_name", ["Europe/Paris", "Pacific/Auckland"])
def test_without_a_subscription_the_period_is_the_calendar_month_in_the_organisations_zone(
    org_a, timezone_name
):
    org_a.timezone = timezone_name
    now = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
    start, end = selectors.billing_period(org_a, now)
    zone = zoneinfo.ZoneInfo(timezone_name)
    assert (start.astimezone(zone).day, start.astimezone(zone).month, start.astimezone(zone).hour) == (
        1,
        3,
        0,
    )
    assert (end.astimezone(zone).day, end.astimezone(zone).month, end.astimezone(zone).hour) == (1, 4, 0)
