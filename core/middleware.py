"""Behaviour every response shares: the request's id and client, private caching and an idle timeout
for signed-in people."""

import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from core.http import RequestContext, client_address, request_context_reset, request_context_set
from core.observability import REQUEST_ID

# How often a signed-in session's expiry is pushed forward: often enough for an idle timeout measured
# in hours, rarely enough that a busy person does not write their session on every request.
SESSION_TOUCH_SECONDS = 300
TOUCHED_KEY = "_touched"
# How often "last seen" is written for a person: the people page shows it to the hour.
LAST_SEEN_SECONDS = 3600


class RequestContextMiddleware:
    """Gives each request an id (the proxy's X-Request-ID when it is a sensible one, else a new one),
    sends it back, and keeps it with the client's address for the audit trail and the logs (which also
    name the signed-in person, once authentication has run: core/observability.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = str(request.META.get("HTTP_X_REQUEST_ID", ""))
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        # Also on the request: Django logs a 4xx or 5xx answer after every middleware has returned.
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_context_set(
            RequestContext(request_id=request_id, client=client_address(request), request=request)
        )
        try:
            response = self.get_response(request)
        finally:
            request_context_reset(token)
        response["X-Request-ID"] = request_id
        return response


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
                _last_seen_note(user)
        return response


def _last_seen_note(user: object) -> None:
    from django.contrib.auth import get_user_model

    seen, pk = getattr(user, "last_seen_at", None), getattr(user, "pk", None)
    now = timezone.now()
    if pk is not None and (seen is None or (now - seen).total_seconds() >= LAST_SEEN_SECONDS):
        get_user_model().objects.filter(pk=pk).update(last_seen_at=now)


def session_mark_fresh(sender: object, request: HttpRequest, **kwargs: object) -> None:
    """A session just signed in counts as touched now (its first request need not write it again),
    and lasts the usual idle time, whatever shorter life it had as a visitor's."""
    session = getattr(request, "session", None)
    if session is not None:
        session.set_expiry(None)
        session[TOUCHED_KEY] = int(time.time())
