"""The welcome page of a new organisation's first admin, arriving from the public site's sign-up.

It spends the one-time sign-in link made by participants/handoff.py, by a POST from the page like
every sign-in link, and lands an admin on the new-challenge page.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.permissions import MANAGE
from participants import services
from participants.services import SignInRefused
from participants.views_access import MODEL_BACKEND, SIGN_IN_REFUSED_STATUS


def _refused(request: HttpRequest, refusal: SignInRefused) -> HttpResponse:
    return render(
        request,
        "participants/access/sign_in_refused.html",
        {"reason": refusal.reason.value, "join_link": None},
        status=SIGN_IN_REFUSED_STATUS[refusal.reason],
    )


@never_cache
@require_http_methods(["GET", "POST"])
def welcome(request: HttpRequest, secret: str) -> HttpResponse:
    try:
        sign_in_link = services.sign_in_link_check(secret)
        if request.method != "POST":
            return render(request, "participants/access/welcome.html", {"sign_in_link": sign_in_link})
        user = services.sign_in_consume(secret=secret)
    except SignInRefused as refusal:
        return _refused(request, refusal)
    login(request, user, backend=MODEL_BACKEND)
    if not user.has_perm(MANAGE):
        return redirect("home")
    messages.success(
        request,
        _("You are signed in. Start with your first challenge: from a template, or from scratch."),
    )
    return redirect("challenges:manage_create")
