from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from config.celery import app
from tenants.db import tenant_connection
from tenants.selectors import organization_url


@app.task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(user_id: int) -> bool:
    """E-mail an organisation admin the link to set a password. Runs at most once per person."""
    from accounts.services import user_set_password_path

    with transaction.atomic():
        user = (
            User.objects.select_for_update()
            .filter(pk=user_id, invitation_sent_at__isnull=True, is_active=True)
            .first()
        )
        if user is None:
            return False
        organization = tenant_connection().tenant
        link = organization_url(organization, user_set_password_path(user))
        # Sent from a worker, where no request chose the language: the person's, else the organisation's.
        with translation.override(user.language or organization.locale):
            names = {"name": organization.name, "link": link, "url": organization_url(organization)}
            send_mail(
                subject=gettext("Your Crowdact space for %(name)s") % names,
                message=gettext(
                    "Hello,\n\nA Crowdact space has been opened for %(name)s.\n"
                    "Set your password here (the link works once): %(link)s\n\n"
                    "Then sign in at %(url)s\n"
                )
                % names,
                from_email=None,
                recipient_list=[user.email],
            )
        user.invitation_sent_at = timezone.now()
        user.save(update_fields=["invitation_sent_at"])
    return True
