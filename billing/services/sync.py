"""Stripe's state applied to the product: subscriptions, invoices, Checkout Sessions, and from them
each organisation's plan and billing state.

Events arrive at least once and in any order, and Stripe's `created` has a one-second resolution,
so no event is trusted for state: each sync re-reads the object from Stripe and applies what Stripe
says now. Every row remembers when its copy was read (`stripe_updated`) and, under the row's lock,
a copy read earlier than the stored one is not applied: a slow worker holding a stale read cannot
undo a newer one. The organisation's plan, billing state and grace end are then derived from the
rows alone (organization_billing_refresh), so the same rows always give the same state, whatever
the order they were written in.

Every Stripe object is recognised by `metadata[organization]` (the slug), or by the subscription
it belongs to, or by its customer.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import Exists, Q
from django.utils import timezone

from billing import stripe_client
from billing.catalogue import catalogue
from billing.models import LIVE_STATUSES, BillingAccount, Invoice, Purchase, Subscription
from billing.selectors import grace_days, paying_organization_ids
from billing.services.dunning import billing_change_record, purchase_paid_record
from tenants.background import enqueue_on_commit
from tenants.models import Organization

Data = dict[str, Any]
Plan = Organization.Plan
BillingState = Organization.BillingState
Row = TypeVar("Row", bound=models.Model)

RECONCILE_TASK = "billing.tasks.organization_subscriptions_reconcile"

log = logging.getLogger(__name__)


def _time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC) if value else None


def _id(value: Any) -> str:
    """An id field, whether Stripe sent the id or (expanded) the object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def _metadata(data: Data) -> dict[str, str]:
    return data.get("metadata") or {}


def _invoice_subscription(data: Data) -> str:
    parent = data.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return _id(details.get("subscription") or data.get("subscription"))


def _organization_for(data: Data) -> Organization | None:
    """The organisation a Stripe object belongs to: metadata[organization], its subscription's
    metadata (invoices), client_reference_id (Checkout), or its customer's billing account."""
    parent = (data.get("parent") or {}).get("subscription_details") or {}
    slugs = [
        _metadata(data).get("organization"),
        (parent.get("metadata") or {}).get("organization"),
        data.get("client_reference_id") if data.get("object") == "checkout.session" else None,
    ]
    for slug in slugs:
        if slug:
            organization = Organization.objects.filter(schema_name=slug).first()
            if organization is not None:
                return organization
    customer = _id(data.get("customer"))
    if customer:
        account = (
            BillingAccount.objects.filter(stripe_customer_id=customer).select_related("organization").first()
        )
        if account is not None:
            return account.organization
    return None


def _customer_adopt(organization: Organization, customer: str) -> None:
    """An organisation whose customer was made elsewhere (sales, the dashboard) takes it as its own,
    unless another organisation has it. One UPDATE, which changes nothing once a customer is set."""
    if not customer:
        return
    taken = BillingAccount.objects.filter(stripe_customer_id=customer)
    BillingAccount.objects.filter(organization=organization, stripe_customer_id="").exclude(
        Exists(taken)
    ).update(stripe_customer_id=customer)


def _guarded_upsert(
    model: type[Row], lookup: dict[str, Any], read_at: dt.datetime, fields: dict[str, Any]
) -> tuple[Row, bool]:
    """Create or update the row found by `lookup` with `fields`, unless it holds a copy read later
    than `read_at`. Runs under the row's lock; returns the row and whether it was written."""
    manager = model._default_manager
    row = manager.select_for_update().filter(**lookup).first()
    if row is None:
        try:
            with transaction.atomic():
                return manager.create(**lookup, **fields, stripe_updated=read_at), True
        except IntegrityError:  # made meanwhile by another worker: take its lock and compare
            row = manager.select_for_update().get(**lookup)
    stored = getattr(row, "stripe_updated", None)
    if stored is not None and stored > read_at:
        return row, False
    for name, value in {**fields, "stripe_updated": read_at}.items():
        setattr(row, name, value)
    row.save()
    return row, True


# Applying one object -------------------------------------------------------------------------------


def _subscription_plan(items: list[Data]) -> str:
    known = catalogue()
    for item in items:
        price = item.get("price") or {}
        plan = known.plan_for_lookup_key(price.get("lookup_key")) or _metadata(price).get("crowdact_plan")
        if plan in Plan.values:
            return str(plan)
    return ""


@transaction.atomic(savepoint=False)  # inside the caller's transaction, or its own
def subscription_apply(data: Data, *, read_at: dt.datetime) -> Subscription | None:
    """Store a subscription as Stripe answered it at `read_at`. None when it is no organisation's."""
    organization = _organization_for(data)
    if organization is None:
        log.info("subscription %s belongs to no organisation: ignored", data.get("id"))
        return None
    items = (data.get("items") or {}).get("data") or []
    first = items[0] if items else {}
    fields = {
        "organization": organization,
        "stripe_customer_id": _id(data.get("customer")),
        "status": data.get("status") or "",
        "plan": _subscription_plan(items),
        "collection_method": data.get("collection_method") or "",
        "price_lookup_keys": [
            (item.get("price") or {}).get("lookup_key")
            for item in items
            if (item.get("price") or {}).get("lookup_key")
        ],
        "current_period_start": _time(first.get("current_period_start")),
        "current_period_end": _time(first.get("current_period_end")),
        "cancel_at_period_end": bool(data.get("cancel_at_period_end")),
        "canceled_at": _time(data.get("canceled_at")),
        "ended_at": _time(data.get("ended_at")),
        "latest_invoice_id": _id(data.get("latest_invoice")),
        "stripe_created": _time(data.get("created")) or read_at,
    }
    row, _ = _guarded_upsert(Subscription, {"stripe_id": data["id"]}, read_at, fields)
    _customer_adopt(organization, row.stripe_customer_id)
    return row


@transaction.atomic(savepoint=False)  # inside the caller's transaction, or its own
def invoice_apply(data: Data, *, read_at: dt.datetime) -> Invoice | None:
    """Store an invoice as Stripe answered it at `read_at`. None when it is no organisation's."""
    organization = _organization_for(data)
    if organization is None:
        log.info("invoice %s belongs to no organisation: ignored", data.get("id"))
        return None
    transitions = data.get("status_transitions") or {}
    fields = {
        "organization": organization,
        "subscription_stripe_id": _invoice_subscription(data),
        "number": data.get("number") or "",
        "status": data.get("status") or "",
        "collection_method": data.get("collection_method") or "",
        "currency": data.get("currency") or "",
        "amount_due": data.get("amount_due") or 0,
        "amount_paid": data.get("amount_paid") or 0,
        "amount_remaining": data.get("amount_remaining") or 0,
        "total": data.get("total") or 0,
        "attempt_count": data.get("attempt_count") or 0,
        "custom_fields": data.get("custom_fields") or [],
        "hosted_invoice_url": data.get("hosted_invoice_url") or "",
        "invoice_pdf": data.get("invoice_pdf") or "",
        "period_start": _time(data.get("period_start")),
        "period_end": _time(data.get("period_end")),
        "created": _time(data.get("created")) or read_at,
        "finalized_at": _time(transitions.get("finalized_at")),
        "due_date": _time(data.get("due_date")),
        "paid_at": _time(transitions.get("paid_at")),
    }
    row, _ = _guarded_upsert(Invoice, {"stripe_id": data["id"]}, read_at, fields)
    _customer_adopt(organization, _id(data.get("customer")))
    return row


@transaction.atomic(savepoint=False)  # inside the caller's transaction, or its own
def checkout_session_apply(data: Data, *, read_at: dt.datetime) -> Organization | None:
    """A Checkout Session: in payment mode, the Purchase it is (paid once complete, with its invoice);
    in subscription mode its subscription is applied on its own (subscription_apply)."""
    organization = _organization_for(data)
    if organization is None:
        log.info("checkout session %s belongs to no organisation: ignored", data.get("id"))
        return None
    _customer_adopt(organization, _id(data.get("customer")))
    if data.get("mode") != "payment":
        return organization
    metadata = _metadata(data)
    service = metadata.get("service") or metadata.get("key") or ""
    if data.get("status") == "complete" and data.get("payment_status") in ("paid", "no_payment_required"):
        status = Purchase.Status.PAID
    elif data.get("status") == "expired":
        status = Purchase.Status.EXPIRED
    else:
        status = Purchase.Status.OPEN
    invoice_id = _id(data.get("invoice"))
    fields: dict[str, Any] = {
        "organization": organization,
        "status": status,
        "amount_total": data.get("amount_total") or 0,
        "currency": data.get("currency") or "",
        "stripe_invoice_id": invoice_id,
        "invoice": Invoice.objects.filter(stripe_id=invoice_id).first() if invoice_id else None,
    }
    if service:
        fields["service"] = service
    if status == Purchase.Status.PAID:
        invoice = fields["invoice"]
        fields["paid_at"] = (invoice.paid_at if invoice else None) or _time(data.get("created"))
    stored = (
        Purchase.objects.select_for_update()
        .filter(checkout_session_id=data["id"])
        .values_list("status", flat=True)
        .first()
    )
    row, _ = _guarded_upsert(Purchase, {"checkout_session_id": data["id"]}, read_at, fields)
    if row.status == Purchase.Status.PAID and stored != Purchase.Status.PAID:
        purchase_paid_record(organization, row)
    return organization


# The organisation's plan and state, from its rows --------------------------------------------------


def _grace_anchor(invoice: Invoice) -> dt.datetime:
    """When an unpaid invoice became late: its failed attempt (at finalisation), or its due date
    for an invoice paid by transfer that nobody paid."""
    if invoice.attempt_count == 0 and invoice.due_date:
        return invoice.due_date
    return invoice.finalized_at or invoice.created


@transaction.atomic(savepoint=False)  # inside the caller's transaction, or its own
def organization_billing_refresh(
    organization: Organization, *, now: dt.datetime | None = None
) -> Organization:
    """Set the organisation's plan, billing state and grace end from its subscriptions and invoices.

    - a live subscription (active, trialing, past_due, unpaid) gives its plan; none gives Discovery
      (billing state `canceled` when a paid subscription ended, else `active`);
    - late (subscription past_due or unpaid, or one of its invoices open after a failed payment or
      past its due date): `past_due` until the grace period ends (the late invoice's failure + the
      grace days), `read_only` after; paying makes it `active` again, grace cleared.
    Only rows and `now` are read, never the order events came in.
    """
    now = now or timezone.now()
    account, _ = BillingAccount.objects.select_for_update().get_or_create(organization=organization)
    subscriptions = list(Subscription.objects.filter(organization=organization).exclude(plan=""))
    live = [s for s in subscriptions if s.status in LIVE_STATUSES]
    current = max(live, key=lambda s: (s.stripe_created, s.stripe_id), default=None)
    grace_until: dt.datetime | None = None
    if current is None:
        plan: str = Plan.DISCOVERY
        ended = any(s.status == Subscription.Status.CANCELED for s in subscriptions)
        state: str = BillingState.CANCELED if ended else BillingState.ACTIVE
    else:
        plan = current.plan
        unpaid = list(
            Invoice.objects.filter(
                organization=organization,
                subscription_stripe_id__in=[s.stripe_id for s in live],
                status=Invoice.Status.OPEN,
            ).filter(Q(attempt_count__gt=0) | Q(due_date__lt=now))
        )
        late = any(s.status in (Subscription.Status.PAST_DUE, Subscription.Status.UNPAID) for s in live)
        if late or unpaid:
            days = dt.timedelta(days=grace_days(organization, plan))
            if unpaid:
                started = min(_grace_anchor(invoice) for invoice in unpaid)
            elif account.grace_until is not None:  # the late invoice is not stored: keep what was set
                started = account.grace_until - days
            else:
                started = now
            grace_until = started + days
            state = BillingState.READ_ONLY if now >= grace_until else BillingState.PAST_DUE
        else:
            state = BillingState.ACTIVE
    # Compared with the stored row (under the account's lock), not with a copy that may be stale.
    stored = Organization.objects.filter(pk=organization.pk).values_list("plan", "billing_state").first()
    if stored is not None and stored != (plan, state):
        Organization.objects.filter(pk=organization.pk).update(plan=plan, billing_state=state)
        log.info("%s: plan %s, billing %s", organization.schema_name, plan, state)
        billing_change_record(organization, (stored[0], stored[1]), (plan, state), grace_until)
    organization.plan, organization.billing_state = plan, state
    if account.grace_until != grace_until:
        BillingAccount.objects.filter(pk=account.pk).update(grace_until=grace_until)
    return organization


# Re-reading from Stripe, then applying --------------------------------------------------------------


def _subscription_with_invoice_apply(data: Data, read_at: dt.datetime) -> Subscription | None:
    latest = data.get("latest_invoice")
    if isinstance(latest, dict):  # expanded: the invoice that makes it late (or not) comes with it
        invoice_apply(latest, read_at=read_at)
        data = {**data, "latest_invoice": latest.get("id")}
    return subscription_apply(data, read_at=read_at)


def subscription_sync(subscription_id: str, *, now: dt.datetime | None = None) -> Organization | None:
    """Re-read a subscription (and its latest invoice) from Stripe and apply it."""
    read_at = timezone.now()
    data = stripe_client.subscription_retrieve(subscription_id, expand=["latest_invoice"])
    with transaction.atomic():
        row = _subscription_with_invoice_apply(data, read_at)
        if row is None:
            return None
        return organization_billing_refresh(row.organization, now=now)


def invoice_sync(invoice_id: str, *, now: dt.datetime | None = None) -> Organization | None:
    """Re-read an invoice, and the subscription it bills, from Stripe and apply them."""
    read_at = timezone.now()
    data = stripe_client.invoice_retrieve(invoice_id)
    subscription: Data | None = None
    subscription_read_at = timezone.now()
    if _invoice_subscription(data):
        subscription = stripe_client.subscription_retrieve(_invoice_subscription(data))
    with transaction.atomic():
        row = invoice_apply(data, read_at=read_at)
        if subscription is not None:
            subscription_apply(subscription, read_at=subscription_read_at)
        if row is None:
            return None
        return organization_billing_refresh(row.organization, now=now)


def checkout_session_sync(session_id: str, *, now: dt.datetime | None = None) -> Organization | None:
    """Re-read a Checkout Session from Stripe with what it made (subscription, invoice), apply all."""
    read_at = timezone.now()
    session = stripe_client.checkout_session_retrieve(session_id)
    subscription: Data | None = None
    invoice: Data | None = None
    made_at = timezone.now()
    if _id(session.get("subscription")):
        subscription = stripe_client.subscription_retrieve(
            _id(session.get("subscription")), expand=["latest_invoice"]
        )
    elif _id(session.get("invoice")):
        invoice = stripe_client.invoice_retrieve(_id(session.get("invoice")))
    with transaction.atomic():
        if invoice is not None:
            invoice_apply(invoice, read_at=made_at)
        if subscription is not None:
            _subscription_with_invoice_apply(subscription, made_at)
        organization = checkout_session_apply(session, read_at=read_at)
        if organization is None:
            return None
        return organization_billing_refresh(organization, now=now)


# Nightly reconciliation, hourly grace ---------------------------------------------------------------


def organization_subscriptions_reconcile(organization_id: int, *, now: dt.datetime | None = None) -> int:
    """Re-read every subscription of the organisation from Stripe (by metadata[organization], by its
    customer, and those stored as live) and apply them, as the webhooks would. Returns how many."""
    organization = Organization.objects.get(pk=organization_id)
    account, _ = BillingAccount.objects.get_or_create(organization=organization)
    read_at = timezone.now()
    expand = ["data.latest_invoice"]
    found = {
        s["id"]: s
        for s in stripe_client.subscription_search(
            f"metadata['organization']:'{organization.schema_name}'", expand=expand
        )
    }
    if account.stripe_customer_id:
        found.update(
            {s["id"]: s for s in stripe_client.subscription_list(account.stripe_customer_id, expand=expand)}
        )
    stored = Subscription.objects.filter(organization=organization, status__in=LIVE_STATUSES)
    for stripe_id in stored.exclude(stripe_id__in=list(found)).values_list("stripe_id", flat=True):
        found[stripe_id] = stripe_client.subscription_retrieve(stripe_id, expand=["latest_invoice"])
    with transaction.atomic():
        for data in found.values():
            _subscription_with_invoice_apply(data, read_at)
        organization_billing_refresh(organization, now=now)
    return len(found)


def subscriptions_reconcile_queue() -> int:
    """Nightly (beat, public schema): one reconciliation task per paying organisation."""
    ids = paying_organization_ids()
    for organization_id in ids:
        enqueue_on_commit(RECONCILE_TASK, organization_id)
    return len(ids)


def billing_grace_expire(*, now: dt.datetime | None = None) -> int:
    """Hourly (beat): organisations still unpaid at the end of their grace period become read-only.
    Returns how many did."""
    now = now or timezone.now()
    due = Organization.objects.filter(
        billing_state=BillingState.PAST_DUE, billing_account__grace_until__lte=now
    ).order_by("pk")
    changed = 0
    for organization in due:
        with transaction.atomic():
            if organization_billing_refresh(organization, now=now).billing_state == BillingState.READ_ONLY:
                changed += 1
    return changed
