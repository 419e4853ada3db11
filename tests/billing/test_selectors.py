"""What the pages read: plan, limits, state, invoices newest first, the overview in fixed queries."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import selectors
from billing.models import BillingAccount, Invoice, StripeEvent
from billing.services import billing_customer_create, stripe_events_requeue
from tenants.models import Organization


def _invoice(organization: Organization, number: str, days_ago: int) -> Invoice:
    created = timezone.now() - dt.timedelta(days=days_ago)
    return Invoice.objects.create(
        stripe_id=f"in_{number}",
        organization=organization,
        number=number,
        status="paid",
        currency="eur",
        total=4900,
        created=created,
        stripe_updated=created,
    )


def test_limits_follow_the_plan(org_a):
    assert selectors.plan_limits(org_a) == selectors.organization_plan(org_a).limits
    limits = selectors.plan_limits(org_a)
    assert (limits.open_challenges, limits.active_participants) == (1, 50)
    org_a.plan = Organization.Plan.BUSINESS
    assert selectors.plan_limits(org_a).active_participants is None
    assert [plan.key for plan in selectors.plans_for(org_a)] == ["discovery", "business"]
    beta = Organization.objects.get(schema_name="beta")
    assert [plan.key for plan in selectors.plans_for(beta)] == ["discovery", "municipality"]
    services = [s.key for s in selectors.services_offered()]
    assert services == ["workshop", "facilitation_day", "reviewed_report"]


def test_grace_days_are_longer_for_municipalities(org_a, org_b, settings):
    assert settings.BILLING_GRACE_DAYS == 14
    assert (selectors.grace_days(org_a), selectors.grace_days(org_b)) == (14, 30)
    assert selectors.grace_days(org_a, plan="municipality") == 30
    settings.BILLING_GRACE_DAYS, settings.BILLING_GRACE_DAYS_MUNICIPALITY = 7, 45
    assert (selectors.grace_days(org_a), selectors.grace_days(org_b)) == (7, 45)


def test_invoices_are_listed_newest_first_and_the_overview_takes_fixed_queries(org_a, org_b):
    _invoice(org_b, "B-1", 1)

    def overview_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            selectors.billing_overview(org_a)
        return len(queries)

    empty = overview_queries()
    for number, days in (("A-1", 40), ("A-3", 2), ("A-2", 20)):
        _invoice(org_a, number, days)

    assert [i.number for i in selectors.invoice_list(org_a)] == ["A-3", "A-2", "A-1"]
    assert overview_queries() == empty, "the overview does not grow with the invoices"
    overview = selectors.billing_overview(org_a)
    assert [i.number for i in overview.invoices] == ["A-3", "A-2", "A-1"]
    assert (overview.plan.key, overview.state, overview.subscription, overview.grace_until) == (
        "discovery",
        "active",
        None,
        None,
    )
    assert overview.active_participants == 0


def test_the_customer_task_is_skipped_without_stripe(org_a, settings):
    settings.STRIPE_SECRET_KEY = ""
    assert billing_customer_create(org_a.pk) is None
    assert BillingAccount.objects.get(organization=org_a).stripe_customer_id == ""


def test_events_whose_retries_ran_out_are_queued_again(db):
    now = timezone.now()
    stale = StripeEvent.objects.create(
        stripe_id="evt_stale", type="invoice.paid", object_id="in_1", created=now, payload={}, attempts=9
    )
    StripeEvent.objects.filter(pk=stale.pk).update(received_at=now - dt.timedelta(hours=1))
    StripeEvent.objects.create(
        stripe_id="evt_fresh", type="invoice.paid", object_id="in_2", created=now, payload={}
    )
    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        assert stripe_events_requeue(now=now) == 1
    assert len(queued) == 1
