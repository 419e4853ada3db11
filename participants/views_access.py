"""Coming in: the join page, the "check your inbox" page, the one-time sign-in page, and the admins'
join-link pages.

A refused token or link gets a page that says why, never an error. The one-time link is used by a
POST from its page, not by opening it: mail scanners that open links would otherwise spend it.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.http import request_user
from challenges.models import Challenge
from core import ratelimit
from core.http import client_address
from core.pages import error_summary, manager_required, reader_required
from core.permissions import MANAGE
from participants import services, widget
from participants.forms_access import EmailLinkForm, JoinForm, JoinLinkForm, WidgetForm, service_errors_add
from participants.models import JoinLink
from participants.services import JoinRefused, SignInRefused
from tenants.http import request_organization
from tenants.selectors import organization_url

PAGE_SIZE = 50
SESSION_EMAIL_KEY = "participants:join-email"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# A refused join token: gone for good (410) when it existed, 404 when it never did.
JOIN_REFUSED_STATUS = {
    JoinRefused.Reason.UNKNOWN: 404,
    JoinRefused.Reason.REVOKED: 410,
    JoinRefused.Reason.EXPIRED: 410,
}
SIGN_IN_REFUSED_STATUS = {
    SignInRefused.Reason.UNKNOWN: 404,
    SignInRefused.Reason.USED: 410,
    SignInRefused.Reason.EXPIRED: 410,
    SignInRefused.Reason.WITHDRAWN: 410,
    SignInRefused.Reason.CLOSED: 403,
    SignInRefused.Reason.NO_ACCOUNT: 404,
}


def _remember_email(request: HttpRequest, email: str) -> None:
    """Keep the typed address for the "check your inbox" page, no longer than the link it was sent
    lives: a visitor's session (it is nobody's yet) ends with the link, not two weeks later."""
    request.session[SESSION_EMAIL_KEY] = email
    if not request.user.is_authenticated:
        request.session.set_expiry(services.SIGN_IN_LINK_LIFETIME)


def _landing(challenge_id: int | None) -> str:
    """Where a person lands once signed in: the link's challenge, else the organisation's home."""
    if challenge_id is not None:
        try:
            return reverse("participants:challenge_detail", kwargs={"pk": challenge_id})
        except NoReverseMatch:
            pass
    return "/"


# Joining --------------------------------------------------------------------------------------------


def _join_refused(request: HttpRequest, refusal: JoinRefused) -> HttpResponse:
    return render(
        request,
        "participants/access/join_refused.html",
        {"reason": refusal.reason.value},
        status=JOIN_REFUSED_STATUS[refusal.reason],
    )


def _too_many(request: HttpRequest, limit: ratelimit.Limit, join_link: JoinLink | None) -> HttpResponse:
    response = render(
        request,
        "participants/access/too_many.html",
        {"join_link": join_link, "minutes": limit.seconds // 60},
        status=429,
    )
    response["Retry-After"] = str(limit.seconds)
    return response


def _join_page(request: HttpRequest, join_link: JoinLink, form: JoinForm) -> HttpResponse:
    return render(
        request,
        "participants/access/join.html",
        {
            "join_link": join_link,
            "form": form,
            "error_summary": error_summary(form),
            "minutes": int(services.SIGN_IN_LINK_LIFETIME.total_seconds() // 60),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    try:
        join_link = services.join_link_check(token)
    except JoinRefused as refusal:
        return _join_refused(request, refusal)
    organization = request_organization(request)
    if request.method != "POST":
        return _join_page(request, join_link, JoinForm(organization=organization))

    # Every request counts, valid or not, known address or not: the limits reveal nothing.
    if not ratelimit.hit(ratelimit.PER_CLIENT, client_address(request)):
        return _too_many(request, ratelimit.PER_CLIENT, join_link)
    form = JoinForm(request.POST, organization=organization)
    if not form.is_valid():
        return _join_page(request, join_link, form)
    email = form.cleaned_data["email"]
    if not ratelimit.hit(ratelimit.PER_ADDRESS, email):
        return _too_many(request, ratelimit.PER_ADDRESS, join_link)
    try:
        services.sign_in_request(
            organization=organization,
            join_link=join_link,
            email=email,
            display_name=form.cleaned_data["display_name"],
            language=translation.get_language(),
        )
    except ValidationError as error:
        service_errors_add(form, error)
        return _join_page(request, join_link, form)
    _remember_email(request, email)
    return redirect("access:join_sent", token=join_link.token)


@never_cache
@require_safe
def join_sent(request: HttpRequest, token: str) -> HttpResponse:
    try:
        join_link = services.join_link_check(token)
    except JoinRefused as refusal:
        return _join_refused(request, refusal)
    return render(
        request,
        "participants/access/join_sent.html",
        {
            "join_link": join_link,
            "email": request.session.get(SESSION_EMAIL_KEY, ""),
            "minutes": int(services.SIGN_IN_LINK_LIFETIME.total_seconds() // 60),
        },
    )


# Coming back: a sign-in link by e-mail, from the sign-in page -------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def email_link(request: HttpRequest) -> HttpResponse:
    """A returning participant has no password: they ask for a one-time link to their address."""
    organization = request_organization(request)
    minutes = int(services.SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    if request.method != "POST":
        form = EmailLinkForm(organization=organization)
        return render(request, "participants/access/email_link.html", {"form": form, "minutes": minutes})
    if not ratelimit.hit(ratelimit.PER_CLIENT, client_address(request)):
        return _too_many(request, ratelimit.PER_CLIENT, None)
    form = EmailLinkForm(request.POST, organization=organization)
    if form.is_valid():
        email = form.cleaned_data["email"]
        if not ratelimit.hit(ratelimit.PER_ADDRESS, email):
            return _too_many(request, ratelimit.PER_ADDRESS, None)
        try:
            services.sign_in_request(
                organization=organization,
                join_link=None,
                email=email,
                display_name="",
                language=translation.get_language(),
            )
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            _remember_email(request, email)
            return redirect("access:email_link_sent")
    context = {"form": form, "minutes": minutes, "error_summary": error_summary(form)}
    return render(request, "participants/access/email_link.html", context)


@never_cache
@require_safe
def email_link_sent(request: HttpRequest) -> HttpResponse:
    minutes = int(services.SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    context = {"email": request.session.get(SESSION_EMAIL_KEY, ""), "minutes": minutes}
    return render(request, "participants/access/email_link_sent.html", context)


# Signing in with the one-time link ----------------------------------------------------------------


def _sign_in_refused(request: HttpRequest, refusal: SignInRefused) -> HttpResponse:
    # Offer a new link through the same join link, when that one still opens.
    join_link = refusal.sign_in_link.join_link if refusal.sign_in_link is not None else None
    if join_link is not None:
        try:
            join_link = services.join_link_check(join_link.token)
        except JoinRefused:
            join_link = None
    return render(
        request,
        "participants/access/sign_in_refused.html",
        {"reason": refusal.reason.value, "join_link": join_link},
        status=SIGN_IN_REFUSED_STATUS[refusal.reason],
    )


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest, secret: str) -> HttpResponse:
    try:
        sign_in_link = services.sign_in_link_check(secret)
    except SignInRefused as refusal:
        return _sign_in_refused(request, refusal)
    if request.method != "POST":
        return render(request, "participants/access/sign_in.html", {"sign_in_link": sign_in_link})
    try:
        user = services.sign_in_consume(secret=secret)
    except SignInRefused as refusal:
        return _sign_in_refused(request, refusal)
    login(request, user, backend=MODEL_BACKEND)
    request.session.pop(SESSION_EMAIL_KEY, None)
    return redirect(_landing(sign_in_link.challenge_id))


# Admins: join links ---------------------------------------------------------------------------------


def _status(join_link: JoinLink, now: dt.datetime) -> str:
    if join_link.revoked_at is not None:
        return "revoked"
    if join_link.expires_at is not None and join_link.expires_at <= now:
        return "expired"
    return "active"


@reader_required
@require_safe
def manage_join_link_list(request: HttpRequest) -> HttpResponse:
    organization = request_organization(request)
    page = Paginator(JoinLink.objects.select_related("challenge"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    rows = [
        {
            "link": join_link,
            "status": _status(join_link, now),
            "url": services.join_link_url(join_link, organization),
        }
        for join_link in page.object_list
    ]
    return render(
        request,
        "participants/access/manage_join_links.html",
        {
            "page": page,
            "rows": rows,
            "can_manage": request_user(request).has_perm(MANAGE),
        },
    )


@manager_required
@require_http_methods(["GET", "POST"])
def manage_join_link_create(request: HttpRequest) -> HttpResponse:
    form = JoinLinkForm(request.POST or None, timezone_name=request_organization(request).timezone)
    if request.method == "POST" and form.is_valid():
        challenge = form.cleaned_data["challenge"]
        try:
            join_link = services.join_link_create(
                actor=request_user(request),
                challenge_id=challenge.pk if challenge is not None else None,
                label=form.cleaned_data["label"],
                expires_at=form.cleaned_data["expires_at"],
            )
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            messages.success(
                request,
                _("Join link “%(label)s” created: copy it below and post it where people will see it.")
                % {"label": join_link.label or _("without a label")},
            )
            return redirect("access:join_link_list")
    return render(
        request,
        "participants/access/manage_join_link_form.html",
        {"form": form, "error_summary": error_summary(form)},
    )


@manager_required
@require_POST
def manage_join_link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    join_link = get_object_or_404(JoinLink, pk=pk)
    services.join_link_revoke(actor=request_user(request), join_link_id=join_link.pk)
    messages.success(request, _("Join link revoked: it no longer lets anyone in."))
    return redirect("access:join_link_list")


# Admins: the challenge widget -----------------------------------------------------------------------


@reader_required
@require_http_methods(["GET", "POST"])
def manage_widget(request: HttpRequest, pk: int) -> HttpResponse:
    """The code an intranet pastes to show a challenge's widget, and what its button does."""
    challenge = get_object_or_404(Challenge, pk=pk)
    organization = request_organization(request)
    can_manage = request_user(request).has_perm(MANAGE)
    now = timezone.now()
    join_links = [
        link
        for link in JoinLink.objects.filter(challenge=challenge).order_by("-created_at", "-pk")
        if services.join_link_is_active(link, now)
    ]
    chosen = widget.widget_join_link(challenge, now)
    form = WidgetForm(
        request.POST if request.method == "POST" else None,
        join_links=join_links,
        initial={"join_link": chosen.pk if chosen else ""},
    )
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.widget_update(
                    actor=request_user(request),
                    challenge_id=challenge.pk,
                    join_link_id=form.cleaned_data["join_link"],
                )
            except ValidationError as error:
                service_errors_add(form, error)
            else:
                messages.success(request, _("The widget's settings are saved."))
                return redirect("access:widget", pk=challenge.pk)
    embed_path = reverse("participants:embed_challenge", kwargs={"pk": challenge.pk})
    embed_url = organization_url(organization, embed_path)
    return render(
        request,
        "participants/access/manage_widget.html",
        {
            "challenge": challenge,
            "form": form,
            "can_manage": can_manage,
            "embed_url": embed_url,
            "embed_origins": organization.embed_origins,
            "error_summary": error_summary(form),
        },
    )
