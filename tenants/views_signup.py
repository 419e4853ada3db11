"""The public site's sign-up pages: the form, "check your inbox", the confirmation, the progress.

The confirmation link is used by a POST from its page, not by opening it: mail scanners that open
links would otherwise spend it (and start an organisation nobody watches). The progress page belongs
to the browser that confirmed: its session holds the sign-up, and only that browser is handed over,
signed in, to the new organisation's host, once.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core import ratelimit
from core.http import client_address
from core.pages import error_summary, service_errors_add
from tenants import signup as signups
from tenants.forms_signup import SignupForm
from tenants.models import SignupRequest
from tenants.selectors import site_url
from tenants.signup import SignupRefused

SENT_KEY = "signup:sent"
SESSION_KEY = "signup:current"
REFRESH_SECONDS = 2
SESSION_LIFETIME = 24 * 3600

Status, Failure = SignupRequest.Status, SignupRequest.Failure

REFUSED_STATUS = {
    SignupRefused.Reason.UNKNOWN: 404,
    SignupRefused.Reason.USED: 410,
    SignupRefused.Reason.EXPIRED: 410,
}


def _visitor_session_lasts(request: HttpRequest, seconds: int) -> None:
    """A visitor's session (it is nobody's yet) ends with what it is for, not two weeks later."""
    if not request.user.is_authenticated:
        request.session.set_expiry(seconds)


def _current(request: HttpRequest) -> tuple[SignupRequest | None, dict[str, Any]]:
    """The sign-up this browser confirmed, and what the session keeps about it."""
    held = request.session.get(SESSION_KEY)
    if not isinstance(held, dict) or not isinstance(held.get("id"), int):
        return None, {}
    return SignupRequest.objects.filter(pk=held["id"]).first(), held


def _too_many(request: HttpRequest, limit: ratelimit.Limit) -> HttpResponse:
    response = render(request, "tenants/signup_too_many.html", {"minutes": limit.seconds // 60}, status=429)
    response["Retry-After"] = str(limit.seconds)
    return response


def _form_page(request: HttpRequest, form: SignupForm) -> HttpResponse:
    return render(request, "tenants/signup.html", {"form": form, "error_summary": error_summary(form)})


def _initial(request: HttpRequest) -> dict[str, str]:
    """A new form, or the one of a sign-up of this browser that failed, to start again from."""
    language = translation.get_language() or "en"
    initial = {"locale": language if language in ("en", "fr") else "en"}
    found, _held = _current(request)
    if found is not None and found.status == Status.FAILED:
        initial.update(
            organization_name=found.organization_name,
            slug="" if found.failure == Failure.SLUG_TAKEN else found.slug,
            kind=found.kind,
            locale=found.locale,
            person_name=found.person_name,
            email=found.email,
        )
    return initial


@never_cache
@require_http_methods(["GET", "POST"])
def signup_form(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, SignupForm(initial=_initial(request)))
    client = client_address(request)
    if not ratelimit.hit(signups.ATTEMPTS_PER_CLIENT, client):
        return _too_many(request, signups.ATTEMPTS_PER_CLIENT)
    form = SignupForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form)
    data = form.cleaned_data
    if not ratelimit.hit(signups.SIGNUPS_PER_CLIENT, client):
        return _too_many(request, signups.SIGNUPS_PER_CLIENT)
    if not ratelimit.hit(signups.SIGNUPS_PER_ADDRESS, str(data["email"]).lower()):
        return _too_many(request, signups.SIGNUPS_PER_ADDRESS)
    try:
        created = signups.signup_create(
            organization_name=data["organization_name"],
            slug=data["slug"],
            kind=data["kind"],
            locale=data["locale"],
            person_name=data["person_name"],
            email=data["email"],
            language=translation.get_language() or "en",
            client=client,
        )
    except ValidationError as error:
        service_errors_add(form, error)
        return _form_page(request, form)
    request.session[SENT_KEY] = {"email": created.email, "host": signups.organization_host_of(created.slug)}
    _visitor_session_lasts(request, SESSION_LIFETIME)
    return redirect("signup:sent")


@never_cache
@require_safe
def signup_sent(request: HttpRequest) -> HttpResponse:
    sent = request.session.get(SENT_KEY)
    sent = sent if isinstance(sent, dict) else {}
    hours = int(signups.CONFIRMATION_LIFETIME.total_seconds() // 3600)
    context = {"email": sent.get("email", ""), "host": sent.get("host", ""), "hours": hours}
    return render(request, "tenants/signup_sent.html", context)


def _refused(request: HttpRequest, refusal: SignupRefused) -> HttpResponse:
    return render(
        request,
        "tenants/signup_refused.html",
        {"reason": refusal.reason.value},
        status=REFUSED_STATUS[refusal.reason],
    )


@never_cache
@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    secret = str(source.get("key", ""))
    found, _held = _current(request)
    try:
        pending = signups.signup_confirm_check(secret)
        if request.method != "POST":
            host = signups.organization_host_of(pending.slug)
            page = render(
                request, "tenants/signup_confirm.html", {"signup": pending, "host": host, "key": secret}
            )
            # The form's answer may end, through the progress page, on the new organisation's host (at
            # once when the space is made quickly): CSP's form-action governs that whole redirect chain.
            page._csp_update = {"form-action": [site_url(host, "")]}  # type: ignore[attr-defined]
            return page
        confirmed = signups.signup_confirm(secret=secret)
    except SignupRefused as refusal:
        if refusal.reason == SignupRefused.Reason.USED and found is not None and refusal.signup == found:
            return redirect("signup:progress")  # the same browser, a second click: where it stands
        return _refused(request, refusal)
    request.session[SESSION_KEY] = {"id": confirmed.pk, "handed_off": False}
    _visitor_session_lasts(request, SESSION_LIFETIME)
    return redirect("signup:progress")


@never_cache
@require_safe
def signup_progress(request: HttpRequest) -> HttpResponse:
    found, held = _current(request)
    if found is None:
        return render(request, "tenants/signup_progress.html", {"missing": True}, status=404)
    if found.status == Status.READY and found.organization_id is not None and not held.get("handed_off"):
        url = signups.signup_handoff_url(found)
        request.session[SESSION_KEY] = {**held, "handed_off": True}
        return redirect(url)
    progress = signups.signup_progress(found)
    refreshing = progress.running and request.GET.get("refresh") != "off"
    context: dict[str, Any] = {
        "signup": found,
        "progress": progress,
        "refreshing": refreshing,
        "seconds": REFRESH_SECONDS,
    }
    if found.status == Status.READY and found.organization_id is not None:
        context["sign_in_url"] = signups.organization_sign_in_url(found)
    response = render(request, "tenants/signup_progress.html", context)
    if refreshing:
        # The Refresh header reloads the page without JavaScript, while the work goes on; the page
        # offers to stop it (WCAG 2.2.2) and a link to look again by hand.
        response["Refresh"] = str(REFRESH_SECONDS)
    return response


@never_cache
@require_POST
def signup_retry(request: HttpRequest) -> HttpResponse:
    found, _held = _current(request)
    if found is None:
        return render(request, "tenants/signup_progress.html", {"missing": True}, status=404)
    signups.signup_retry(signup_id=found.pk)
    return redirect("signup:progress")
