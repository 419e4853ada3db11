"""Error answers: JSON under /api/, like every other API error; the plain pages elsewhere. And the
refusals that ask the organisation to pay (HTTP 402): a plan's limit reached, or read-only mode.
And the answer to a write PostgreSQL kept aborting (a deadlock or a serialisation failure, still
there after core.db.atomic_with_retry's last attempt): 503 with Retry-After, nothing written.

Django answers an unknown URL, a refused request (a body too large, a bad Host) or a crash before
any API view runs, so DRF's exception handler never sees them: these handlers, named in both URL
confs, give them the API's shape, `{"detail": "..."}`.
"""

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

from core.db import is_retryable
from core.transitions import TransitionRefused

API_PREFIX = "/api/"
# Long enough for the writes it met to be done; short enough that the person simply tries again.
RETRY_AFTER_SECONDS = 5


class PaymentRequired(TransitionRefused):
    """Refused until the organisation upgrades or pays: a sentence for a person, and the billing
    page's address (`upgrade_url`). HTTP 402 with both in the API; a message on the pages (it is a
    TransitionRefused, so every page that shows a refusal shows this one too)."""

    def __init__(self, message: str, *, upgrade_url: str) -> None:
        super().__init__(message)
        self.upgrade_url = upgrade_url


class PlanLimitReached(PaymentRequired):
    """The organisation's plan allows no more of `limit` ("open_challenges", "active_participants")."""

    def __init__(self, message: str, *, upgrade_url: str, limit: str) -> None:
        super().__init__(message, upgrade_url=upgrade_url)
        self.limit = limit


class OrganizationReadOnly(PaymentRequired):
    """The organisation is read-only (unpaid past its grace period): it reads, it does not write."""


def payment_required_response(error: PaymentRequired, status: int = 402) -> JsonResponse:
    return JsonResponse({"detail": str(error), "upgrade_url": error.upgrade_url}, status=status)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        detail = _("The request body is too large.")
        if _is_api(request):
            return JsonResponse({"detail": detail}, status=413)
        return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
    if _is_api(request):
        return JsonResponse({"detail": _("This request could not be understood.")}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": _("You do not have permission to do this.")}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": _("Something went wrong on our side; it was recorded.")}, status=500)
    return defaults.server_error(request)


def try_again_later_sentence() -> str:
    return _("Too many people are acting at this very moment: nothing was saved. Try again in a few seconds.")


def try_again_later(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After, for a write PostgreSQL kept aborting: its transaction is rolled back."""
    if _is_api(request):
        response: HttpResponse = JsonResponse({"detail": try_again_later_sentence()}, status=503)
    else:
        response = render(request, "503.html", {"sentence": try_again_later_sentence()}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class TryAgainLaterMiddleware:
    """A page view that raised a deadlock or a serialisation failure answers 503, not 500 (the API's
    views answer it in core.api.api_exception_handler)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return try_again_later(request) if is_retryable(exception) else None
