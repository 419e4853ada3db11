"""Behaviour every signed-in response shares: private caching and an idle timeout."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

# How often a signed-in session's expiry is pushed forward: often enough for an idle timeout measured
# in hours, rarely enough that a busy person does not write their session on every request.
SESSION_TOUCH_SECONDS = 300
TOUCHED_KEY = "_touched"


class SignedInResponsesMiddleware:
    """For a signed-in person: `Cache-Control: private, no-store` (a shared cache or the browser's
    history must not keep their pages), and a session that ends after SESSION_COOKIE_AGE idle."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
            session = getattr(request, "session", None)
            now = int(time.time())
            # Only a session that exists: a request signed in by an API token has none, and gets none.
            if (
                session is not None
                and session.session_key is not None
                and now - int(session.get(TOUCHED_KEY, 0)) >= SESSION_TOUCH_SECONDS
            ):
                # A write renews the session for SESSION_COOKIE_AGE from now.
                session[TOUCHED_KEY] = now
        return response


def session_mark_fresh(sender: object, request: HttpRequest, **kwargs: object) -> None:
    """A session just signed in counts as touched now (its first request need not write it again),
    and lasts the usual idle time, whatever shorter life it had as a visitor's."""
    session = getattr(request, "session", None)
    if session is not None:
        session.set_expiry(None)
        session[TOUCHED_KEY] = int(time.time())
