"""Background work on challenges. Tasks take ids, run in the schema they were sent from, and are
safe to run twice."""

import datetime as dt

from celery import Task
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from accounts.roles import ORG_ADMIN
from challenges.models import Challenge, Notification
from challenges.selectors import (
    challenge_forecast,
    challenges_at_risk_near_deadline,
    challenges_open_past_deadline,
)
from challenges.services import challenge_close_if_expired
from config.celery import app
from tenants.db import tenant_connection
from tenants.models import Organization
from tenants.selectors import organization_url

EVENTS = ("goal_reached", "counterpart_delivered", "deadline_at_risk")
REMINDER_WINDOW = dt.timedelta(days=3)


def _recipients(challenge: Challenge) -> list[User]:
    """Everyone with an active pledge, and the organisation's admins."""
    return list(
        User.objects.filter(is_active=True)
        .filter(pk__in=challenge.pledges.filter(withdrawn_at__isnull=True, user__isnull=False).values("user"))
        .union(User.objects.filter(is_active=True, groups__name=ORG_ADMIN))
    )


@app.task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_challenge_event(challenge_id: int, event: str) -> int:
    """E-mail every concerned person about an event of a challenge, at most once each; return how many."""
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}")
    challenge = Challenge.objects.select_related("counterpart").filter(pk=challenge_id).first()
    if challenge is None:
        return 0
    recipients = _recipients(challenge)
    Notification.objects.bulk_create(
        [Notification(user=user, challenge=challenge, event=event) for user in recipients],
        ignore_conflicts=True,
    )
    organization: Organization = tenant_connection().tenant
    context = {
        "organization": organization,
        "challenge": challenge,
        "counterpart": getattr(challenge, "counterpart", None),
        "forecast": challenge_forecast(challenge),
        "url": organization_url(organization, f"/challenges/{challenge.pk}/"),
    }
    sent = 0
    with transaction.atomic():
        # Locked rows are being sent by another run of this task: skip them rather than send twice.
        pending = list(
            Notification.objects.select_for_update(skip_locked=True)
            .select_related("user")
            .filter(challenge=challenge, event=event, sent_at__isnull=True)
        )
        messages = []
        for notification in pending:
            language = notification.user.language or organization.locale
            body = render_to_string(f"emails/{event}.{language}.txt", context)
            subject, _, text = body.strip().partition("\n")
            messages.append(
                EmailMessage(subject.strip(), text.strip() + "\n", None, [notification.user.email])
            )
        if messages:
            with get_connection() as mail:
                sent = mail.send_messages(messages) or 0
        Notification.objects.filter(pk__in=[n.pk for n in pending]).update(sent_at=timezone.now())
    return sent


@app.task
def challenges_close_expired() -> int:
    """In one organisation: fail every open challenge past its deadline short of its goal."""
    return sum(
        challenge_close_if_expired(challenge_id=pk)
        for pk in challenges_open_past_deadline().values_list("pk", flat=True)
    )


@app.task
def deadline_reminders_send() -> int:
    """In one organisation: warn participants of challenges at risk with three days or less to go."""
    at_risk = challenges_at_risk_near_deadline(timezone.now(), REMINDER_WINDOW)
    for challenge in at_risk:
        notify_challenge_event.delay(challenge.pk, "deadline_at_risk")
    return len(at_risk)


def _fan_out(task: Task) -> int:
    """Send `task` once per active organisation, to run in that organisation's schema."""
    schemas = list(
        Organization.objects.filter(is_active=True)
        .exclude(schema_name="public")
        .values_list("schema_name", flat=True)
    )
    for schema_name in schemas:
        task.apply_async(headers={"_schema_name": schema_name})
    return len(schemas)


@app.task
def challenges_close_expired_everywhere() -> int:
    """Beat entry: one close-expired task per active organisation, each in its own schema."""
    return _fan_out(challenges_close_expired)


@app.task
def deadline_reminders_everywhere() -> int:
    """Beat entry: one deadline-reminder task per active organisation."""
    return _fan_out(deadline_reminders_send)
