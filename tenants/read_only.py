"""Read-only mode: an organisation unpaid past its grace period reads, and writes nothing.

Every request on its host other than GET, HEAD, OPTIONS is refused with HTTP 402 before any view
runs, so nothing changes: the API answers `{"detail": ..., "upgrade_url": ...}`, a page says why
(and, to its admins, where to pay). Nothing is deleted; once the organisation pays
(billing_state back to active) everything works again at once.

Still allowed, because a person must never be locked out of their own account and paying must stay
possible: signing in and out (password, one-time link, invitation, setting a password, the
sign-up's welcome link), the language switch, the billing page and everything under it, and a
person's own data export and erasure (GDPR rights). Stripe's webhooks arrive on the public host,
which this never concerns. The product's own background work (closing expired challenges,
e-mails) runs outside HTTP and goes on.

Placed after the authentication, language, messages and signed-in-responses middleware: the
refusal speaks the person's language, knows whether they may pay, and has every page's headers.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import API_PREFIX, payment_required_response
from core.permissions import can_manage
from tenants.limits import BILLING_PATH, billing_path, organization_read_only, read_only_refusal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# URL names (of the organisation URL conf) that still take writes in read-only mode.
ALWAYS_WRITABLE = frozenset({
    "login",
    "logout",
    "password_set",
    "invitation",
    "welcome",
    "access:email_link",
    "access:sign_in",
    "set_language",
    "participants:my_data_export",
    "participants:my_data_erase",
})  # fmt: skip
ALWAYS_WRITABLE_NAMESPACES = frozenset({"billing"})
READ_ONLY_STATUS = 402


def writable_in_read_only(request: HttpRequest) -> bool:
    path = request.path_info
    if path.startswith((BILLING_PATH, billing_path())):
        return True
    try:
        match = resolve(path, urlconf=getattr(request, "urlconf", None))
    except Resolver404:
        return False
    return match.view_name in ALWAYS_WRITABLE or bool(ALWAYS_WRITABLE_NAMESPACES & set(match.namespaces))


class ReadOnlyMiddleware:
    """Refuses every write on the host of a read-only organisation (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        organization = getattr(request, "organization", None)
        if (
            organization is None
            or request.method in SAFE_METHODS
            or not organization_read_only(organization)
            or writable_in_read_only(request)
        ):
            return self.get_response(request)
        refusal = read_only_refusal(organization)
        if request.path_info.startswith(API_PREFIX):
            return payment_required_response(refusal, status=READ_ONLY_STATUS)
        referer = request.headers.get("Referer", "")
        back = referer if url_has_allowed_host_and_scheme(referer, {request.get_host()}) else "/"
        return render(
            request,
            "tenants/read_only.html",
            {
                "sentence": str(refusal),
                "can_pay": can_manage(getattr(request, "user", None)),
                "billing_path": billing_path(),
                "back_url": back,
            },
            status=READ_ONLY_STATUS,
        )
