"""What the join and sign-in tests share: posting the join form, reading the link it e-mails, and the
state joining and the join-link pages may write."""

import html
import re
from typing import Any

from django.core import mail
from django.test import Client, TestCase

from accounts.models import User
from participants.models import JoinLink, SignInLink

SIGN_IN_URL = re.compile(r"http://(?P<host>[\w.]+)(?P<path>/account/sign-in/(?P<secret>[\w-]+)/)")


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _join(client: Client, join_link: JoinLink, email: str, name: str = "Nora New", **extra: Any) -> Any:
    """Post the join form; the e-mail task, sent on commit, runs (inline) as the request ends."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/join/{join_link.token}/", {"email": email, "display_name": name}, **extra)


def _sign_in_link_from(message: mail.EmailMessage) -> re.Match[str]:
    match = SIGN_IN_URL.search(str(message.body))
    assert match is not None, message.body
    return match


def _state() -> dict[str, Any]:
    """Everything joining and the join-link pages may write, to assert that nothing changed."""
    return {
        "users": sorted(User.objects.values_list("email", "display_name", "is_active")),
        "sign_in_links": SignInLink.objects.count(),
        "used": SignInLink.objects.filter(used_at__isnull=False).count(),
        "join_links": list(
            JoinLink.objects.order_by("pk").values_list(
                "pk", "label", "challenge", "expires_at", "revoked_at"
            )
        ),
    }
