"""Stripe's webhook events: received and stored at once, processed in the background, replayable.

Receiving makes no call to Stripe: the signature is checked on the raw body, the event is stored
under its unique id, and its processing is queued once that row is committed. A second delivery of
the same event finds the row and changes nothing. Processing re-reads the object the event is about
(billing.services.sync), so events applied in any order, any number of times, end in Stripe's state.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from billing import stripe_client
from billing.errors import StripeRefused, WebhookSignatureInvalid
from billing.models import Invoice, StripeEvent, Subscription
from billing.services.sync import checkout_session_sync, invoice_sync, subscription_sync
from core.permissions import require
from tenants.background import enqueue_on_commit
from tenants.models import Organization

PROCESS_TASK = "billing.tasks.stripe_event_process"
REPLAY_PERMISSION = "billing.change_stripeevent"
# An event still unprocessed this long after it came (its retries ran out) is queued again, hourly.
REQUEUE_AFTER = dt.timedelta(minutes=15)
REQUEUE_MAX_ATTEMPTS = 50

log = logging.getLogger(__name__)

Sync = Callable[..., Organization | None]

# The events that change something, and the object each one re-reads. Every other type is stored
# and marked processed with nothing done.
HANDLERS: dict[str, Sync] = {
    "checkout.session.completed": checkout_session_sync,
    "checkout.session.expired": checkout_session_sync,
    "checkout.session.async_payment_succeeded": checkout_session_sync,
    "customer.subscription.created": subscription_sync,
    "customer.subscription.updated": subscription_sync,
    "customer.subscription.deleted": subscription_sync,
    "customer.subscription.paused": subscription_sync,
    "customer.subscription.resumed": subscription_sync,
    "invoice.paid": invoice_sync,
    "invoice.payment_failed": invoice_sync,
    "invoice.finalized": invoice_sync,
    "invoice.voided": invoice_sync,
    "invoice.marked_uncollectible": invoice_sync,
}


def stripe_event_receive(payload: bytes, signature: str) -> tuple[str, bool]:
    """Check and store a webhook delivery; queue its processing. Returns the event's Stripe id and
    whether it is new (False: a duplicate, which changes nothing). Raises WebhookSignatureInvalid,
    BillingNotConfigured (no STRIPE_WEBHOOK_SECRET). No call to Stripe.

    One statement stores it, or finds it already there (INSERT … ON CONFLICT DO NOTHING), committed
    before the answer: Stripe is told 200 only for an event that is on disk."""
    event = stripe_client.webhook_event(payload, signature)
    try:
        stripe_id, type_, created = str(event["id"]), str(event["type"]), int(event["created"])
        obj = event["data"]["object"]
        object_id = str(obj.get("id") or "") if isinstance(obj, dict) else ""
        created_at = dt.datetime.fromtimestamp(created, tz=dt.UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise WebhookSignatureInvalid("not a Stripe event") from exc
    row_id = _event_insert(
        stripe_id=stripe_id[:255],
        type=type_[:100],
        object_id=object_id[:255],
        created=created_at,
        livemode=bool(event.get("livemode")),
        # The body as Stripe sent it (it parsed as JSON above): jsonb keeps the same document.
        payload=payload.decode("utf-8"),
    )
    if row_id is None:
        return stripe_id, False
    enqueue_on_commit(PROCESS_TASK, row_id)
    return stripe_id, True


_INSERT = """
    INSERT INTO {table} (stripe_id, type, object_id, created, livemode, payload, received_at, processed_at,
                         attempts, last_error, organization_id)
    VALUES (%(stripe_id)s, %(type)s, %(object_id)s, %(created)s, %(livemode)s, %(payload)s::jsonb, %(now)s,
            NULL, 0, '', NULL)
    ON CONFLICT (stripe_id) DO NOTHING
    RETURNING id
"""


def _event_insert(**values: Any) -> int | None:
    """The new row's id, or None when an event with this id is stored already."""
    sql = _INSERT.format(table=connection.ops.quote_name(StripeEvent._meta.db_table))
    with connection.cursor() as cursor:
        cursor.execute(sql, {**values, "now": timezone.now()})
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _error_record(event_id: int, exc: BaseException) -> None:
    StripeEvent.objects.filter(pk=event_id).update(last_error=f"{type(exc).__name__}: {exc}"[:2000])


def stripe_event_process(event_id: int, *, now: dt.datetime | None = None) -> str:
    """Do an event's work once: re-read its object from Stripe and apply it. Returns what happened:
    "processed", "ignored" (a type with nothing to do), "done" (already processed), "current" (its
    object was re-read from Stripe after the event came, for another event: nothing to read), "refused"
    (Stripe refuses to give the object: recorded, not retried; an operator can replay it; an object
    Stripe no longer has marks the event processed).

    Stripe unreachable raises BillingUnavailable with the error recorded; the task retries."""
    event = StripeEvent.objects.filter(pk=event_id).first()
    if event is None or event.processed_at is not None:
        return "done"
    StripeEvent.objects.filter(pk=event_id).update(attempts=F("attempts") + 1)
    handler = HANDLERS.get(event.type)
    organization: Organization | None = None
    # A first attempt (a replay or a retry always re-reads) whose object was re-read for another
    # event after this one came: that read saw Stripe's state as of after this event, and applied it.
    current = _read_since(event) if handler is not None and event.object_id and event.attempts == 0 else None
    if current is not None:
        StripeEvent.objects.filter(pk=event_id).update(
            processed_at=timezone.now(), last_error="", organization_id=current
        )
        return "current"
    if handler is not None and event.object_id:
        try:
            organization = handler(event.object_id, now=now)
        except StripeRefused as exc:
            log.warning(
                "event %s (%s): Stripe refused to give %s: %s",
                event.stripe_id,
                event.type,
                event.object_id,
                exc,
            )
            _error_record(event_id, exc)
            if exc.missing:  # gone from Stripe for good: nothing to wait for
                StripeEvent.objects.filter(pk=event_id).update(processed_at=timezone.now())
            return "refused"
        except Exception as exc:
            _error_record(event_id, exc)
            raise
    StripeEvent.objects.filter(pk=event_id).update(
        processed_at=timezone.now(), last_error="", organization=organization
    )
    return "processed" if handler is not None else "ignored"


def _read_since(event: StripeEvent) -> int | None:
    """The organisation of the object this event is about, when that object (for an invoice, its
    subscription too) was read from Stripe after the event was received; else None. Subscriptions
    and invoices only: a Checkout Session's processing also adopts the customer, which its own
    re-read must do."""
    handler = HANDLERS.get(event.type)
    fresh = {"stripe_updated__gt": event.received_at}
    if handler is subscription_sync:
        return (
            Subscription.objects.filter(stripe_id=event.object_id, **fresh)
            .values_list("organization_id", flat=True)
            .first()
        )
    if handler is not invoice_sync:
        return None
    invoice = (
        Invoice.objects.filter(stripe_id=event.object_id, **fresh)
        .only("organization_id", "subscription_stripe_id")
        .first()
    )
    if invoice is None:
        return None
    if (
        invoice.subscription_stripe_id
        and not Subscription.objects.filter(stripe_id=invoice.subscription_stripe_id, **fresh).exists()
    ):
        return None
    return invoice.organization_id


def stripe_event_replay(actor: Any, events: Iterable[StripeEvent]) -> int:
    """An operator's replay (the admin's action): the events are processed again, from Stripe's
    current state. Returns how many were queued."""
    require(actor, REPLAY_PERMISSION)
    ids = [event.pk for event in events]
    with transaction.atomic():
        StripeEvent.objects.filter(pk__in=ids).update(processed_at=None, last_error="")
        for event_id in ids:
            enqueue_on_commit(PROCESS_TASK, event_id)
    return len(ids)


def stripe_events_requeue(*, now: dt.datetime | None = None) -> int:
    """Hourly (beat): queue again the events whose processing ran out of retries (Stripe was down
    for long), since Stripe's own redeliveries of them are answered as duplicates."""
    now = now or timezone.now()
    ids = list(
        StripeEvent.objects.filter(
            processed_at__isnull=True, received_at__lt=now - REQUEUE_AFTER, attempts__lt=REQUEUE_MAX_ATTEMPTS
        )
        .order_by("created", "pk")
        .values_list("pk", flat=True)[:1000]
    )
    for event_id in ids:
        enqueue_on_commit(PROCESS_TASK, event_id)
    return len(ids)
