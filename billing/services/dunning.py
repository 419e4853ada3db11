"""What follows a change of what an organisation pays: the audit trail, and the admins' e-mails.

The audit trail (core.audit, in the organisation's schema) records each change of plan or billing
state (by "Crowdact": Stripe's word applied), each paid service bought and each online payment
started. The admins are e-mailed when a payment fails (the grace period starts), a few days before
the organisation becomes read-only, and when it does; each at most once per grace period
(core.notifications.send_once, the event key names the grace period by its end), in each admin's
language, else the organisation's.

    billing_change_record(organization, before, after, grace_until)   organization_billing_refresh
    purchase_paid_record(organization, purchase)                      a paid service bought
    checkout_started_record(actor, organization, kind, key)           an admin starts Checkout
    municipality_subscribed_record(actor, organization, number)       the Municipality plan set up
    billing_dunning_notify(organization_id, event, *, now=None) -> int  the task: e-mail the admins
    billing_grace_reminders_queue(*, now=None) -> int                 hourly: read-only in 3 days
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import AuditEntry, Notification, User
from accounts.roles import ORG_ADMIN
from billing.catalogue import catalogue
from billing.models import BillingAccount, Purchase
from core.audit import audit_record, changes_between
from core.notifications import Recipient, message_from_template, send_once
from tenants.background import enqueue_on_commit
from tenants.models import Organization
from tenants.selectors import organization_brand, organization_path, organization_url

BillingState = Organization.BillingState
Kind = AuditEntry.Kind

PAYMENT_FAILED = "payment_failed"
READ_ONLY_SOON = "read_only_soon"
READ_ONLY = "read_only"
EVENTS = (PAYMENT_FAILED, READ_ONLY_SOON, READ_ONLY)
# The billing state each e-mail is about: one that no longer holds when it is sent is not sent.
EVENT_STATE = {
    PAYMENT_FAILED: BillingState.PAST_DUE,
    READ_ONLY_SOON: BillingState.PAST_DUE,
    READ_ONLY: BillingState.READ_ONLY,
}
NOTIFY_TASK = "billing.tasks.billing_dunning_notify"
# The admins are reminded this long before the grace period ends.
REMINDER_BEFORE = dt.timedelta(days=3)


def _has_schema(organization: Organization) -> bool:
    """Billing also keeps rows of organisations whose schema is not made (yet): nothing of theirs
    is written in a schema that is not there (it would land in the public one)."""
    return bool(schema_exists(organization.schema_name))


def _name(organization: Organization, text: Any) -> str:
    return str(text.get(organization.locale))


def billing_change_record(
    organization: Organization,
    before: tuple[str, str],
    after: tuple[str, str],
    grace_until: dt.datetime | None,
) -> None:
    """In the transaction of organization_billing_refresh, once the plan or the billing state of the
    organisation changed: the audit entry, and the admins' e-mail queued for after commit."""
    (old_plan, old_state), (plan, state) = before, after
    if _has_schema(organization):
        changes = changes_between(
            {"plan": old_plan, "billing_state": old_state}, {"plan": plan, "billing_state": state}
        )
        kind = Kind.PLAN_CHANGED if old_plan != plan else Kind.BILLING_CHANGED
        target = _name(organization, catalogue().plan(plan).name)
        with tenant_context(organization):
            audit_record(kind, actor=None, target=target, changes=changes)
    if grace_until is None:
        return
    if state == BillingState.PAST_DUE and old_state not in (BillingState.PAST_DUE, BillingState.READ_ONLY):
        enqueue_on_commit(NOTIFY_TASK, organization.pk, PAYMENT_FAILED)
    elif state == BillingState.READ_ONLY and old_state != BillingState.READ_ONLY:
        enqueue_on_commit(NOTIFY_TASK, organization.pk, READ_ONLY)


def purchase_paid_record(organization: Organization, purchase: Purchase) -> None:
    """A paid service is bought (its Checkout paid): recorded as done by the admin who started it."""
    if not _has_schema(organization):
        return
    service = catalogue().services.get(purchase.service)
    target = _name(organization, service.name) if service else purchase.service
    with tenant_context(organization):
        actor = User.objects.filter(email=purchase.bought_by).first() if purchase.bought_by else None
        audit_record(Kind.SERVICE_BOUGHT, actor=actor, target=target)


def checkout_started_record(actor: Any, organization: Organization, kind: str, key: str) -> None:
    """An admin goes to Stripe's Checkout page for a plan or a service."""
    if not _has_schema(organization):
        return
    known = catalogue()
    item = known.plans.get(key) if kind == "plan" else known.services.get(key)
    target = _name(organization, item.name) if item else key
    with tenant_context(organization):
        audit_record(Kind.CHECKOUT_STARTED, actor=actor, target=target)


def municipality_subscribed_record(
    actor: Any, organization: Organization, purchase_order_number: str
) -> None:
    """An admin sets the Municipality plan up, by invoice against a purchase order."""
    if not _has_schema(organization):
        return
    target = _name(organization, catalogue().plan(Organization.Plan.MUNICIPALITY).name)
    changes = [{"field": "purchase_order_number", "old": None, "new": purchase_order_number}]
    with tenant_context(organization):
        audit_record(Kind.MUNICIPALITY_SUBSCRIBED, actor=actor, target=target, changes=changes)


# The admins' e-mails -------------------------------------------------------------------------------


def billing_event_key(event: str, grace_until: dt.datetime) -> str:
    """The e-mail's event, for good: one grace period is named by its end."""
    return f"billing:{event}:{grace_until.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def _admins() -> list[User]:
    return list(
        User.objects.filter(is_active=True, erased_at__isnull=True, groups__name=ORG_ADMIN)
        .distinct()
        .order_by("pk")
    )


def billing_dunning_notify(organization_id: int, event: str, *, now: dt.datetime | None = None) -> int:
    """E-mail the organisation's admins that a payment failed, that read-only is days away, or that
    it started; at most once each per grace period. Returns how many went now (0 when the state
    moved on meanwhile: paid, or already read-only)."""
    if event not in EVENTS:
        raise ValueError(f"Unknown billing event {event!r}")
    now = now or timezone.now()
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None or organization.billing_state != EVENT_STATE[event]:
        return 0
    grace_until = (
        BillingAccount.objects.filter(organization=organization).values_list("grace_until", flat=True).first()
    )
    if grace_until is None or (event != READ_ONLY and grace_until <= now) or not _has_schema(organization):
        return 0
    context = {
        "organization": organization,
        "grace_until": grace_until,
        # A town pays by transfer: its invoice is overdue, no payment "failed".
        "invoiced": organization.plan == Organization.Plan.MUNICIPALITY,
        "url": organization_url(organization, organization_path("billing:manage")),
    }
    brand = organization_brand(organization)

    def render(row: Notification) -> EmailMessage:
        with timezone.override(organization.timezone):
            language = row.language or organization.locale
            body = render_to_string(f"emails/billing_{event}.{language}.txt", context)
        return message_from_template(body, row.recipient, brand)

    with tenant_context(organization):
        recipients = [
            Recipient(admin.email, admin.language or organization.locale, admin.pk) for admin in _admins()
        ]
        return send_once(billing_event_key(event, grace_until), recipients, render)


def billing_grace_reminders_queue(*, now: dt.datetime | None = None) -> int:
    """Hourly (beat, public schema): the admins of organisations whose grace period ends within
    three days are reminded (once: the e-mail is sent once per grace period)."""
    now = now or timezone.now()
    ids = list(
        Organization.objects.filter(
            billing_state=BillingState.PAST_DUE,
            billing_account__grace_until__gt=now,
            billing_account__grace_until__lte=now + REMINDER_BEFORE,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for organization_id in ids:
        enqueue_on_commit(NOTIFY_TASK, organization_id, READ_ONLY_SOON)
    return len(ids)
