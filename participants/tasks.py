"""Background work of the participant journey. Tasks take ids and call one service."""

from celery import shared_task

from participants import services
from tenants.selectors import current_organization


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def sign_in_link_send(sign_in_link_id: int, secret: str, language: str) -> bool:
    """E-mail a one-time sign-in link, at most once, while it can still be used."""
    return services.sign_in_link_send(
        organization=current_organization(), sign_in_link_id=sign_in_link_id, secret=secret, language=language
    )
