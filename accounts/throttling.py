"""Sign-in by password (admins, executives, operators) is throttled by django-axes.

After AXES_FAILURE_LIMIT failures for one account from one client within AXES_COOLOFF_TIME, that
client's further attempts for that account are refused with 429 for the cool-off time, even with the
right password; other clients can still sign in, so an attacker cannot lock the real person out.
Counts live in the cache, under keys that carry the organisation's schema.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def sign_in_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account an attempt is for, as stored: "Admin@X" and "admin@x" count together."""
    field = str(getattr(settings, "AXES_USERNAME_FORM_FIELD", "username"))
    value = (credentials or {}).get(field) if credentials else request.POST.get(field)
    return str(value or "").strip().lower()


def sign_in_client(username: str, ip_address: str, user_agent: str, path_info: str, request: object) -> str:
    """How axes names a client in its log lines: never the e-mail address."""
    return f"client {ip_address} on {path_info}"


def sign_in_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = render(
        request, "accounts/sign_in_locked_out.html", {"minutes": max(1, seconds // 60)}, status=429
    )
    response["Retry-After"] = str(seconds)
    return response
