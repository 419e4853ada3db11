"""Background work on people. Tasks take ids and call one service."""

from celery import shared_task

from accounts import people, services
from tenants.selectors import current_organization


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(user_id: int) -> bool:
    """E-mail an organisation admin the link to set a password. Runs at most once per person."""
    return services.invitation_send(organization=current_organization(), user_id=user_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def person_invitation_send(invitation_id: int, secret: str) -> bool:
    """E-mail an invitation to join the organisation, at most once per sending."""
    return people.person_invitation_send(
        organization=current_organization(), invitation_id=invitation_id, secret=secret
    )
