"""Background work on billing. Each task takes ids, calls one service, and is safe to run twice.

Billing's tables are in the public schema: these run there (the webhook and beat are on the public
side); the services switch to an organisation's schema where they read its data. Work that talks to
Stripe retries with exponential backoff when Stripe cannot be reached.
"""

from celery import shared_task

from billing import services
from billing.stripe_client import RETRYABLE_ERRORS

# Exponential backoff with jitter: about 2 s, 4 s, 8 s... at most 10 minutes apart, 8 times.
BACKOFF = 2
BACKOFF_MAX = 600
MAX_RETRIES = 8


@shared_task(
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=BACKOFF,
    retry_backoff_max=BACKOFF_MAX,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def stripe_event_process(event_id: int) -> str:
    return services.stripe_event_process(event_id)


@shared_task(
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=BACKOFF,
    retry_backoff_max=BACKOFF_MAX,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def billing_customer_create(organization_id: int) -> str | None:
    return services.billing_customer_create(organization_id)


@shared_task(
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=BACKOFF,
    retry_backoff_max=BACKOFF_MAX,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def organization_subscriptions_reconcile(organization_id: int) -> int:
    return services.organization_subscriptions_reconcile(organization_id)


@shared_task(
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=BACKOFF,
    retry_backoff_max=BACKOFF_MAX,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def usage_report_send(organization_id: int) -> int:
    return len(services.usage_report_send(organization_id))


@shared_task
def subscriptions_reconcile_queue() -> int:
    """Beat, nightly: one reconciliation per paying organisation."""
    return services.subscriptions_reconcile_queue()


@shared_task
def usage_reports_queue() -> int:
    """Beat, hourly: one usage report per organisation with a metered subscription."""
    return services.usage_reports_queue()


@shared_task
def billing_grace_expire() -> int:
    """Beat, hourly: unpaid past the grace period → read-only."""
    return services.billing_grace_expire()


@shared_task
def stripe_events_requeue() -> int:
    """Beat, hourly: events whose processing ran out of retries are queued again."""
    return services.stripe_events_requeue()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def billing_dunning_notify(organization_id: int, event: str) -> int:
    """The admins' e-mail about a failed payment, read-only soon, or read-only (once each)."""
    return services.billing_dunning_notify(organization_id, event)


@shared_task
def billing_grace_reminders_queue() -> int:
    """Beat, hourly: admins whose organisation becomes read-only within three days are reminded."""
    return services.billing_grace_reminders_queue()
