"""The hand-over from the public site's sign-up to the new organisation's host: a sign-in link.

Named by the SIGNUP_HANDOFF setting (tenants, below this layer, calls it by name), run in the new
organisation's schema. It is a sign-in link like the ones e-mailed to participants — single use, 15
minutes, only its hash stored — but never e-mailed: the public site redirects the browser that
confirmed the sign-up to it. Its page (participants/views_handoff.py) lands an admin on the manager
pages.
"""

import secrets

from django.utils import timezone

from participants.models import SignInLink
from participants.services import SIGN_IN_LINK_LIFETIME, max_length, sign_in_secret_hash
from tenants.selectors import organization_path


def handoff_link_path(*, email: str, display_name: str) -> str:
    """A one-time path that signs in the person of `email` (the organisation's first admin); their
    display name is taken from the link on their first sign-in, as for everyone."""
    secret = secrets.token_urlsafe(32)
    SignInLink.objects.create(
        key_hash=sign_in_secret_hash(secret),
        email=email.strip().lower(),
        display_name=display_name.strip()[: max_length(SignInLink, "display_name")],
        expires_at=timezone.now() + SIGN_IN_LINK_LIFETIME,
    )
    return organization_path("welcome", secret=secret)
