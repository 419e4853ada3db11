"""Writes on billing. Stripe is the truth for what an organisation pays; these services ask Stripe,
then store what it answered, and derive the organisation's `plan` and `billing_state` from it.

What the pages call (each takes the person acting, checks MANAGE first, and raises
PermissionDenied, ValidationError (a message per field), BillingNotConfigured (no
STRIPE_SECRET_KEY: "billing is not configured") or BillingUnavailable (Stripe unreachable: nothing
was saved; say so and let the person try again) — all with a sentence to show):

    checkout_session_create(actor, organization, *, kind, key, success_url, cancel_url, locale="auto") -> str
        kind="plan", key="business": a Checkout URL for the Business subscription (base price and
        per active participant); kind="service", key=<service key>: a one-off payment with an
        invoice (a Purchase row, paid once Stripe confirms). The plan changes by webhook.
    billing_portal_url(actor, organization, return_url) -> str
        Stripe's billing portal (card, invoices, cancelling), in the organisation's language.
    municipality_subscribe(actor, organization, purchase_order_number, *, now=None) -> Subscription
        The yearly Municipality plan by invoice (send_invoice, 30 days, the PO number on the
        invoice), no Checkout; the plan applies at once.

The reads the pages need are in billing.selectors (plan, state, limits, subscription, invoices,
purchases, grace end, active participants, billing_overview).

Provisioning and background work (tasks call these; none is called in a request but the first):

    billing_setup(provisioning)                      ORGANIZATION_SETUP step: the billing row; the
                                                     customer is queued for after commit
    billing_customer_create(organization_id)         the Stripe customer (skipped if not configured)
    billing_customer_ensure(organization) -> str     the customer id, created if needed
    stripe_event_receive(payload, signature) -> (stripe id, new)     the webhook: check, store, queue
    stripe_event_process(event_id, *, now=None) -> str               re-read the object, apply it
    stripe_event_replay(actor, events) -> int                        the admin's replay
    stripe_events_requeue(*, now=None) -> int                        hourly: events whose retries ran out
    subscription_sync / invoice_sync / checkout_session_sync(stripe_id, *, now=None)
    organization_billing_refresh(organization, *, now=None)          plan and state from the rows
    organization_subscriptions_reconcile(organization_id, *, now=None) -> int   nightly, per organisation
    subscriptions_reconcile_queue() -> int                           nightly fan-out
    billing_grace_expire(*, now=None) -> int                         hourly: past_due → read_only
    usage_report_send(organization_id, *, now=None) -> list[UsageReport]   the meter, per organisation
    usage_reports_queue() -> int                                     hourly fan-out
    billing_dunning_notify(organization_id, event, *, now=None) -> int   the admins' e-mail: payment
                                                     failed, read-only in 3 days, read-only
    billing_grace_reminders_queue(*, now=None) -> int                hourly: read-only in 3 days
    catalogue_sync(spec=None) -> list[SyncLine]                      stripe_sync_catalog
"""

from billing.services.accounts import (
    billing_account,
    billing_customer_create,
    billing_customer_ensure,
    billing_setup,
)
from billing.services.catalogue_sync import SyncLine, catalogue_sync
from billing.services.checkout import billing_portal_url, checkout_session_create, municipality_subscribe
from billing.services.dunning import billing_dunning_notify, billing_grace_reminders_queue
from billing.services.events import (
    HANDLERS,
    stripe_event_process,
    stripe_event_receive,
    stripe_event_replay,
    stripe_events_requeue,
)
from billing.services.sync import (
    billing_grace_expire,
    checkout_session_apply,
    checkout_session_sync,
    invoice_apply,
    invoice_sync,
    organization_billing_refresh,
    organization_subscriptions_reconcile,
    subscription_apply,
    subscription_sync,
    subscriptions_reconcile_queue,
)
from billing.services.usage import usage_report_send, usage_reports_queue

__all__ = [
    "HANDLERS",
    "SyncLine",
    "billing_account",
    "billing_customer_create",
    "billing_customer_ensure",
    "billing_dunning_notify",
    "billing_grace_expire",
    "billing_grace_reminders_queue",
    "billing_portal_url",
    "billing_setup",
    "catalogue_sync",
    "checkout_session_apply",
    "checkout_session_create",
    "checkout_session_sync",
    "invoice_apply",
    "invoice_sync",
    "municipality_subscribe",
    "organization_billing_refresh",
    "organization_subscriptions_reconcile",
    "stripe_event_process",
    "stripe_event_receive",
    "stripe_event_replay",
    "stripe_events_requeue",
    "subscription_apply",
    "subscription_sync",
    "subscriptions_reconcile_queue",
    "usage_report_send",
    "usage_reports_queue",
]
