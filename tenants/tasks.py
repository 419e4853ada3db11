"""Background work of the public site's sign-up. Tasks take ids and call one service."""

from celery import shared_task

from tenants import signup


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def signup_confirmation_send(signup_id: int, secret: str) -> bool:
    """E-mail a sign-up's confirmation link, at most once, while it can still be used."""
    return signup.signup_confirmation_send(signup_id=signup_id, secret=secret)


@shared_task
def signup_provision(signup_id: int) -> str:
    """Make the organisation of a confirmed sign-up; a second run changes nothing. A failure is
    recorded on the sign-up, whose person may try again: it is not retried here."""
    provisioned = signup.signup_provision(signup_id=signup_id)
    return provisioned.status if provisioned is not None else ""
