"""The one way the product sends an e-mail at most once: a row per recipient and event.

A caller (a task, through its app's service) names the event with a key that identifies it for good
("challenge:12:goal_reached", "sign-in-link:345") and gives the recipients. Rows are inserted under
a unique constraint (event, recipient), so a second run finds them; the rows not yet sent are locked
(SKIP LOCKED: another run is sending those), rendered in each recipient's language, sent, and
marked sent in the same transaction. A failed send leaves them unsent for the retry.

The model is NOTIFICATION_MODEL (accounts.Notification): reached by name, so that this bottom layer
imports no app.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str
    user_id: int | None = None


def notification_model() -> Any:
    """The model class of NOTIFICATION_MODEL (fields: event, recipient, language, user, sent_at)."""
    return apps.get_model(settings.NOTIFICATION_MODEL)


def send_once(event: str, recipients: Iterable[Recipient], render: Callable[[Any], EmailMessage]) -> int:
    """E-mail `render(row)` to each recipient not yet sent this event; return how many went now.

    `render` gets the notification row (recipient, language, user_id) and runs in its language.
    """
    model = notification_model()
    model.objects.bulk_create(
        [
            model(event=event, recipient=r.email.lower(), language=r.language, user_id=r.user_id)
            for r in recipients
        ],
        ignore_conflicts=True,
    )
    sent = 0
    with transaction.atomic():
        pending = list(
            model.objects.select_for_update(skip_locked=True).filter(event=event, sent_at__isnull=True)
        )
        messages = []
        for row in pending:
            with translation.override(row.language or None):
                messages.append(render(row))
        if messages:
            with get_connection() as mail:
                sent = mail.send_messages(messages) or 0
        model.objects.filter(pk__in=[row.pk for row in pending]).update(sent_at=timezone.now())
    return sent


@dataclass(frozen=True)
class Brand:
    """How an organisation's e-mails look: its name, colour and logo (an absolute URL, or "")."""

    name: str
    color: str
    logo_url: str
    site_url: str


def message_from_template(body: str, to: str, brand: Brand | None = None) -> EmailMessage:
    """A rendered text template whose first line is the subject; with a brand, also an HTML version
    under the organisation's colour and logo (the text stays the message: mail clients that show no
    HTML, and screen readers, get the same words)."""
    subject, _, text = body.strip().partition("\n")
    subject, text = subject.strip(), text.strip() + "\n"
    if brand is None:
        return EmailMessage(subject, text, None, [to])
    message = EmailMultiAlternatives(subject, text, None, [to])
    html = render_to_string(
        "emails/base.html",
        {
            "brand": brand,
            "subject": subject,
            "paragraphs": [part for part in text.split("\n\n") if part.strip()],
            "language": translation.get_language() or "en",
        },
    )
    message.attach_alternative(html, "text/html")
    return message
