"""Reads on billing: an organisation's plan, state, limits, subscription, invoices, purchases, usage.

These read the product's own rows (kept in step with Stripe by webhooks and the nightly
reconciliation); none calls Stripe. Each takes a fixed number of queries.

    billing_configured() -> bool
    organization_plan(organization) -> catalogue.Plan
    organization_billing_state(organization) -> str          # Organization.BillingState value
    billing_read_only(organization) -> bool                 # unpaid past the grace period
    plan_limits(organization) -> catalogue.Limits           # None = unlimited
    plans_for(organization) -> list[catalogue.Plan]         # those its kind may take
    services_offered() -> list[catalogue.Service]
    current_subscription(organization) -> Subscription | None
    metered_subscription(organization) -> Subscription | None
    invoice_list(organization, *, limit=None) -> QuerySet[Invoice]        # newest first
    purchase_list(organization, *, paid_only=False) -> QuerySet[Purchase] # newest first
    grace_end(organization) -> datetime | None
    grace_days(organization) -> int
    billing_period(organization, now=None) -> (start, end)
    active_participants_count(organization, start, end) -> int
    active_participants_this_period(organization, now=None) -> int
    billing_overview(organization, now=None) -> BillingOverview  # all of the above for the billing page
    paying_organization_ids() -> list[int]
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing import stripe_client
from billing.catalogue import Limits, Plan, Service, catalogue
from billing.models import LIVE_STATUSES, BillingAccount, Invoice, Purchase, Subscription
from challenges.models import Contribution, Pledge
from tenants.models import Organization

BillingState = Organization.BillingState


def billing_configured() -> bool:
    """False when STRIPE_SECRET_KEY is empty: the pages say billing is not configured."""
    return stripe_client.configured()


def organization_plan(organization: Organization) -> Plan:
    return catalogue().plan(organization.plan)


def organization_billing_state(organization: Organization) -> str:
    return organization.billing_state


def billing_read_only(organization: Organization) -> bool:
    """Unpaid past the grace period: pages and the API read, every write is refused."""
    return organization.billing_state == BillingState.READ_ONLY


def plan_limits(organization: Organization) -> Limits:
    return organization_plan(organization).limits


def plans_for(organization: Organization) -> list[Plan]:
    return [plan for plan in catalogue().plans.values() if organization.kind in plan.kinds]


def services_offered() -> list[Service]:
    return list(catalogue().services.values())


def current_subscription(organization: Organization) -> Subscription | None:
    """The subscription that gives the organisation its plan: live (paying or late), newest first."""
    return (
        Subscription.objects.filter(organization=organization, status__in=LIVE_STATUSES)
        .exclude(plan="")
        .order_by("-stripe_created", "-stripe_id")
        .first()
    )


def metered_subscription(organization: Organization) -> Subscription | None:
    """The live subscription with a metered price (Business), whose periods usage is reported for."""
    metered = [price.lookup_key for _, price in catalogue().prices() if price.metered]
    return (
        Subscription.objects.filter(
            organization=organization, status__in=LIVE_STATUSES, price_lookup_keys__overlap=metered
        )
        .order_by("-stripe_created", "-stripe_id")
        .first()
    )


def invoice_list(organization: Organization, *, limit: int | None = None) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(organization=organization).exclude(status=Invoice.Status.DRAFT)
    invoices = invoices.order_by("-created", "-pk")
    return invoices[:limit] if limit else invoices


def purchase_list(organization: Organization, *, paid_only: bool = False) -> QuerySet[Purchase]:
    purchases = Purchase.objects.filter(organization=organization).select_related("invoice")
    if paid_only:
        purchases = purchases.filter(status=Purchase.Status.PAID)
    return purchases.order_by("-created_at", "-pk")


# A municipality pays through a public accountant, which takes longer: its own grace period.
MUNICIPALITY_GRACE_DAYS = 30


def grace_days(organization: Organization, plan: str | None = None) -> int:
    """BILLING_GRACE_DAYS (14 by default), or for a municipality (by kind or plan) the setting
    BILLING_GRACE_DAYS_MUNICIPALITY, 30 unless set."""
    municipal = (
        organization.kind == Organization.Kind.MUNICIPALITY
        or (plan or organization.plan) == Organization.Plan.MUNICIPALITY
    )
    if municipal:
        return int(getattr(settings, "BILLING_GRACE_DAYS_MUNICIPALITY", MUNICIPALITY_GRACE_DAYS))
    return int(settings.BILLING_GRACE_DAYS)


def grace_end(organization: Organization) -> dt.datetime | None:
    """When a late organisation becomes (or became) read-only; None when nothing is late."""
    if organization.billing_state not in (BillingState.PAST_DUE, BillingState.READ_ONLY):
        return None
    return (
        BillingAccount.objects.filter(organization=organization).values_list("grace_until", flat=True).first()
    )


def billing_period(
    organization: Organization, now: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """The period whose active participants count: the metered subscription's current billing period,
    or else the calendar month in the organisation's time zone."""
    now = now or timezone.now()
    subscription = metered_subscription(organization)
    if subscription and subscription.current_period_start and subscription.current_period_end:
        start, end = subscription.current_period_start, subscription.current_period_end
        if start <= now < end:
            return start, end
        if now >= end:  # the renewal is not synced yet: the next period starts where this one ended
            return end, end + (end - start)
    zone = zoneinfo.ZoneInfo(organization.timezone)
    local = now.astimezone(zone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
    return month_start.astimezone(dt.UTC), next_month.astimezone(dt.UTC)


def active_participants_count(organization: Organization, start: dt.datetime, end: dt.datetime) -> int:
    """People who pledged or contributed in [start, end), once each, in the organisation's schema.

    Erased people count: their (anonymised) account stays, and they took part. Billing is a shared
    app reading an organisation's data, so it switches to that schema here, from any caller.
    """
    with tenant_context(organization):
        pledged = Pledge.objects.filter(created_at__gte=start, created_at__lt=end, user__isnull=False)
        contributed = Contribution.objects.filter(
            created_at__gte=start, created_at__lt=end, user__isnull=False
        )
        return pledged.values("user_id").union(contributed.values("user_id")).count()


def active_participants_this_period(organization: Organization, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    start, _ = billing_period(organization, now)
    return active_participants_count(organization, start, now)


@dataclass(frozen=True)
class BillingOverview:
    """What the billing page shows."""

    configured: bool
    plan: Plan
    state: str
    limits: Limits
    subscription: Subscription | None
    grace_until: dt.datetime | None
    period: tuple[dt.datetime, dt.datetime]
    active_participants: int
    invoices: list[Invoice]
    purchases: list[Purchase]
    plans: list[Plan]
    services: list[Service]
    purchase_order_number: str


def billing_overview(
    organization: Organization, now: dt.datetime | None = None, *, invoices: int = 24
) -> BillingOverview:
    now = now or timezone.now()
    period = billing_period(organization, now)
    account = BillingAccount.objects.filter(organization=organization).first()
    return BillingOverview(
        configured=billing_configured(),
        plan=organization_plan(organization),
        state=organization.billing_state,
        limits=plan_limits(organization),
        subscription=current_subscription(organization),
        grace_until=grace_end(organization),
        period=period,
        active_participants=active_participants_count(organization, period[0], now),
        invoices=list(invoice_list(organization, limit=invoices)),
        purchases=list(purchase_list(organization, paid_only=True)),
        plans=plans_for(organization),
        services=services_offered(),
        purchase_order_number=account.purchase_order_number if account else "",
    )


def paying_organization_ids() -> list[int]:
    """Organisations on a paid plan, late, or with a live subscription: those the nightly
    reconciliation re-reads from Stripe."""
    live = Subscription.objects.filter(organization=OuterRef("pk"), status__in=LIVE_STATUSES)
    return list(
        Organization.objects.filter(
            Q(Exists(live)) | ~Q(plan=Organization.Plan.DISCOVERY) | ~Q(billing_state=BillingState.ACTIVE)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
