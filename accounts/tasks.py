from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

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
        send_mail(
            subject=f"Your Crowdact space for {organization.name}",
            message=(
                f"Hello,\n\nA Crowdact space has been opened for {organization.name}.\n"
                f"Set your password here (the link works once): {link}\n\n"
                f"Then sign in at {organization_url(organization)}\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
        user.invitation_sent_at = timezone.now()
        user.save(update_fields=["invitation_sent_at"])
    return True
