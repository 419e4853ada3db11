"""What the organisation's people are told about challenges, and the beat's work on challenges.

Each e-mail goes at most once per person and event (core.notifications.send_once), in the person's
language, else the organisation's.
"""

import datetime as dt
import zoneinfo

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Notification, User
from accounts.roles import ORG_ADMIN
from challenges.models import Challenge
from challenges.selectors.activity import active_participants_since
from challenges.selectors.challenges import challenges_at_risk_near_deadline, challenges_open_past_deadline
from challenges.selectors.progress import challenge_forecast
from challenges.services.challenges import challenge_close_if_expired
from challenges.services.limits import LIMIT_EVENTS
from core.notifications import Recipient, message_from_template, send_once
from tenants.background import enqueue_on_commit
from tenants.limits import organization_billing_url, organization_limits
from tenants.models import Organization
from tenants.selectors import organization_brand, organization_url

EVENTS = ("goal_reached", "counterpart_delivered", "deadline_at_risk")
REMINDER_WINDOW = dt.timedelta(days=3)
NOTIFY_TASK = "challenges.tasks.notify_challenge_event"


def challenge_event_key(challenge_id: int, event: str) -> str:
    return f"challenge:{challenge_id}:{event}"


def _recipients(challenge: Challenge) -> list[User]:
    """Everyone with an active pledge, and the organisation's admins."""
    return list(
        User.objects.filter(is_active=True)
        .filter(pk__in=challenge.pledges.filter(withdrawn_at__isnull=True, user__isnull=False).values("user"))
        .union(User.objects.filter(is_active=True, groups__name=ORG_ADMIN))
    )


def challenge_event_notify(*, organization: Organization, challenge_id: int, event: str) -> int:
    """E-mail every concerned person about an event of a challenge, at most once each; how many now."""
    if event not in EVENTS:
        raise ValueError(f"Unknown event {event!r}")
    challenge = Challenge.objects.select_related("counterpart", "metric").filter(pk=challenge_id).first()
    if challenge is None:
        return 0
    context = {
        "organization": organization,
        "challenge": challenge,
        "counterpart": getattr(challenge, "counterpart", None),
        "forecast": challenge_forecast(challenge),
        "url": organization_url(organization, f"/challenges/{challenge.pk}/"),
    }

    def render(row: Notification) -> EmailMessage:
        body = render_to_string(f"emails/{event}.{row.language or organization.locale}.txt", context)
        return message_from_template(body, row.recipient, organization_brand(organization))

    recipients = [
        Recipient(user.email, user.language or organization.locale, user.pk)
        for user in _recipients(challenge)
    ]
    return send_once(challenge_event_key(challenge.pk, event), recipients, render)


def plan_limit_event_key(period_start: dt.datetime, event: str) -> str:
    return f"plan:active_participants:{period_start.isoformat()}:{event}"


def plan_limit_notify(*, organization: Organization, event: str, period_start: dt.datetime) -> int:
    """E-mail the organisation's admins that its plan's active participants are near their limit
    ("near", 80 %) or have reached it ("reached"): once per billing period and event. Nothing when the
    plan no longer limits them, or that period is over."""
    if event not in LIMIT_EVENTS:
        raise ValueError(f"Unknown event {event!r}")
    limits = organization_limits(organization)
    if limits.active_participants is None or limits.period_start != period_start:
        return 0
    count, _ = active_participants_since(period_start)
    zone = zoneinfo.ZoneInfo(organization.timezone)
    context = {
        "organization": organization,
        "count": count,
        "limit": limits.active_participants,
        "since": period_start.astimezone(zone).date(),
        "until": limits.period_end.astimezone(zone).date() if limits.period_end else None,
        "url": organization_billing_url(organization),
    }

    def render(row: Notification) -> EmailMessage:
        body = render_to_string(
            f"emails/plan_limit_{event}.{row.language or organization.locale}.txt", context
        )
        return message_from_template(body, row.recipient, organization_brand(organization))

    admins = User.objects.filter(is_active=True, erased_at__isnull=True, groups__name=ORG_ADMIN).distinct()
    recipients = [Recipient(user.email, user.language or organization.locale, user.pk) for user in admins]
    return send_once(plan_limit_event_key(period_start, event), recipients, render)


def challenges_close_expired(now: dt.datetime | None = None) -> int:
    """In this organisation: fail every open challenge past its deadline short of its goal."""
    return sum(
        challenge_close_if_expired(challenge_id=pk, now=now)
        for pk in challenges_open_past_deadline(now).values_list("pk", flat=True)
    )


def deadline_reminders_queue(now: dt.datetime | None = None) -> int:
    """In this organisation: queue the warning of challenges at risk with three days or less to go."""
    at_risk = challenges_at_risk_near_deadline(now or timezone.now(), REMINDER_WINDOW)
    for challenge in at_risk:
        enqueue_on_commit(NOTIFY_TASK, challenge.pk, "deadline_at_risk")
    return len(at_risk)
