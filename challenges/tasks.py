"""Background work on challenges. Each task takes ids, runs in the schema it was sent from, is safe
to run twice, and calls one service."""

import datetime as dt

from celery import shared_task

from challenges.services import notifications
from tenants.background import fan_out
from tenants.selectors import current_organization


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_challenge_event(challenge_id: int, event: str) -> int:
    return notifications.challenge_event_notify(
        organization=current_organization(), challenge_id=challenge_id, event=event
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_plan_limit(event: str, period_start: str) -> int:
    """The admins told that the plan's active participants are near or at the limit (once a period)."""
    return notifications.plan_limit_notify(
        organization=current_organization(), event=event, period_start=dt.datetime.fromisoformat(period_start)
    )


@shared_task
def challenges_close_expired() -> int:
    return notifications.challenges_close_expired()


@shared_task
def deadline_reminders_send() -> int:
    return notifications.deadline_reminders_queue()


@shared_task
def challenges_close_expired_everywhere() -> int:
    """Beat entry: one close-expired task per active organisation, each in its own schema."""
    return fan_out("challenges.tasks.challenges_close_expired")


@shared_task
def deadline_reminders_everywhere() -> int:
    """Beat entry: one deadline-reminder task per active organisation."""
    return fan_out("challenges.tasks.deadline_reminders_send")
