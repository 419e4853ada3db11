"""Background work of the participant journey: e-mailing one-time sign-in links."""

import hmac

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation

from config.celery import app
from participants.models import SignInLink
from participants.services import SIGN_IN_LINK_LIFETIME, sign_in_link_path, sign_in_secret_hash
from tenants.db import tenant_connection
from tenants.models import Organization
from tenants.selectors import organization_url

SENT_KEY = "participants:sign-in-link-sent:{pk}"


@app.task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def sign_in_link_send(sign_in_link_id: int, secret: str, language: str) -> bool:
    """E-mail a sign-in link, at most once, while it can still be used.

    The secret comes as an argument because only its hash is stored (see services.sign_in_request);
    it must match that hash, so the task can only ever send the link it was made for.
    """
    sign_in_link = (
        SignInLink.objects.select_related("challenge")
        .filter(pk=sign_in_link_id, used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if sign_in_link is None or not hmac.compare_digest(sign_in_link.key_hash, sign_in_secret_hash(secret)):
        return False
    # Run twice (a worker lost after sending), it sends once; a failed send lets the retry try again.
    sent_key = SENT_KEY.format(pk=sign_in_link.pk)
    if not cache.add(sent_key, True, timeout=int(SIGN_IN_LINK_LIFETIME.total_seconds())):
        return False
    organization: Organization = tenant_connection().tenant
    if language not in {code for code, _ in settings.LANGUAGES}:
        language = organization.locale
    context = {
        "organization": organization,
        "challenge": sign_in_link.challenge,
        "url": organization_url(organization, sign_in_link_path(secret)),
        "minutes": int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60),
    }
    with translation.override(language):
        body = render_to_string(f"emails/sign_in.{language}.txt", context)
    subject, _, text = body.strip().partition("\n")
    try:
        EmailMessage(subject.strip(), text.strip() + "\n", None, [sign_in_link.email]).send()
    except Exception:
        cache.delete(sent_key)
        raise
    return True
