"""Participant pages: home, a challenge and its actions, my activity, my team, privacy, my data, teams,
and the challenge widget that intranets frame.

Views stay thin: a form checks the shape of the input, a service (challenges/services.py or
participants/pages.py) does the write and says what is wrong, a selector reads. Every page but the
public home and the widget needs a signed-in person, and runs in the organisation's time zone.
Each action is its own POST, answered by a redirect and a message; when the input is wrong, the page
comes back with the errors next to the fields and nothing written.
"""

import functools
import json
import math
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar, cast

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.selectors import person_name
from challenges import selectors
from challenges import services as challenge_services
from challenges.forms import (
    CATEGORY_LABELS,
    COUNTERPART_STATUS_LABELS,
    STATUS_LABELS,
    choice_label,
    service_errors_add,
)
from challenges.models import Challenge, Metric, SkillSlot, Team
from challenges.states import TransitionRefused
from participants import forms_pages as forms
from participants import pages
from tenants.http import request_organization, request_user

PAGE_SIZE = 50
# The challenge page shows the leading teams and the person's own; /teams/ shows them all.
STANDINGS_SHOWN = 10

View = TypeVar("View", bound=Callable[..., HttpResponse])


def _in_organization_time(view: View) -> View:
    """Dates typed are read, and dates shown written, in the organisation's time zone."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with timezone.override(zoneinfo.ZoneInfo(request_organization(request).timezone)):
            return view(request, *args, **kwargs)

    return cast(View, wrapped)


def participant_required(view: View) -> View:
    """Anonymous people go to sign in (participants come through one-time links)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return _in_organization_time(cast(View, wrapped))


def _metric_unit(metric: Metric | None) -> str:
    if metric is None:
        return ""
    return metric.unit_fr if (translation.get_language() or "").startswith("fr") else metric.unit_en


def _goal_unit(challenge: Challenge) -> str:
    """What the goal counts, to follow a number: "participants", "km", "places"."""
    if challenge.goal_kind == Challenge.GoalKind.PARTICIPANTS:
        return _("participants")
    if challenge.goal_kind == Challenge.GoalKind.SKILLS:
        return _("places")
    return _metric_unit(challenge.metric)


def _refused(request: HttpRequest, error: TransitionRefused | ValidationError) -> None:
    text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    messages.error(request, text or _("You cannot do this."))


def _challenge_or_404(pk: int) -> Challenge:
    challenge = pages.challenge_for_participants(pk)
    if challenge is None:
        raise Http404
    return challenge


# Home ---------------------------------------------------------------------------------------------


@require_safe
@_in_organization_time
def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the challenges to take part in. Signed out: what this place is, and how to come in."""
    if not request.user.is_authenticated:
        return render(
            request,
            "participants/pages/home_public.html",
            {"login_url": resolve_url(settings.LOGIN_URL)},
        )
    user = request_user(request)
    page = Paginator(pages.challenges_taking_part(), PAGE_SIZE).get_page(request.GET.get("page"))
    challenges = list(page.object_list)
    pledges = pages.active_pledges_by_challenge(user, [challenge.pk for challenge in challenges])
    now = timezone.now()
    cards = []
    for challenge in challenges:
        slots = list(challenge.skill_slots.all())
        pledge = pledges.get(challenge.pk)
        cards.append(
            {
                "challenge": challenge,
                "progress": selectors.challenge_progress(challenge, slots),
                "unit": _goal_unit(challenge),
                "status_label": choice_label(STATUS_LABELS, challenge.status),
                "category_label": choice_label(CATEGORY_LABELS, challenge.category),
                "pledge": pledge,
                "actions": pages.challenge_actions(challenge, pledge, slots, now),
            }
        )
    return render(
        request,
        "participants/pages/home.html",
        {"page": page, "cards": cards, "team": pages.my_team(user)},
    )


# The challenge page and its actions ---------------------------------------------------------------


def _challenge_page(
    request: HttpRequest,
    challenge: Challenge,
    *,
    offer_form: forms.OfferForm | None = None,
    contribution_form: forms.ContributionForm | None = None,
) -> HttpResponse:
    user = request_user(request)
    slots = list(challenge.skill_slots.all())
    pledge = pages.active_pledge(user, challenge)
    actions = pages.challenge_actions(challenge, pledge, slots)
    unit = _goal_unit(challenge)
    skills = challenge.goal_kind == Challenge.GoalKind.SKILLS
    if offer_form is None and actions.offer:
        offer_form = forms.OfferForm(slots=slots)
    if contribution_form is None and actions.contribute:
        contribution_form = forms.ContributionForm(
            unit=_metric_unit(challenge.metric),
            slots=slots if skills else (),
            pledged_slot_id=pledge.skill_slot_id if pledge else None,
        )
    forecast = selectors.challenge_forecast(challenge)
    needed_per_day: Decimal | int | None = forecast.needed_per_day if forecast else None
    if needed_per_day is not None and challenge.goal_kind == Challenge.GoalKind.PARTICIPANTS:
        needed_per_day = math.ceil(needed_per_day)  # people come whole
    standings = selectors.challenge_team_standings(challenge)
    team = pages.my_team(user)
    my_rank = next(
        (rank for rank, row in enumerate(standings, 1) if team is not None and row.team_id == team.pk), None
    )
    counterpart = getattr(challenge, "counterpart", None)
    bound = [form for form in (offer_form, contribution_form) if form is not None and form.is_bound]
    return render(
        request,
        "participants/pages/challenge_detail.html",
        {
            "challenge": challenge,
            "status_label": choice_label(STATUS_LABELS, challenge.status),
            "category_label": choice_label(CATEGORY_LABELS, challenge.category),
            "unit": unit,
            "metric_unit": _metric_unit(challenge.metric),
            "slots": slots,
            "progress": selectors.challenge_progress(challenge, slots),
            "forecast": forecast,
            "needed_per_day": needed_per_day,
            "standings": standings[:STANDINGS_SHOWN],
            "more_teams": len(standings) > STANDINGS_SHOWN,
            "team": team,
            "my_rank": my_rank,
            "my_standing": standings[my_rank - 1] if my_rank else None,
            "counterpart": counterpart,
            "counterpart_label": choice_label(COUNTERPART_STATUS_LABELS, counterpart.status)
            if counterpart
            else "",
            "pledge": pledge,
            "actions": actions,
            "mine": pages.my_contributions(user, challenge)
            if challenge.goal_kind != Challenge.GoalKind.PARTICIPANTS
            else None,
            "offer_form": offer_form,
            "contribution_form": contribution_form,
            "error_summary": [item for form in bound for item in forms.error_summary(form)],
        },
    )


@participant_required
@require_safe
def challenge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _challenge_page(request, _challenge_or_404(pk))


def _back(challenge: Challenge) -> HttpResponse:
    return redirect("participants:challenge_detail", pk=challenge.pk)


@participant_required
@require_POST
def challenge_pledge(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = _challenge_or_404(pk)
    try:
        challenge_services.pledge_create(user=request_user(request), challenge_id=challenge.pk)
    except TransitionRefused as error:
        _refused(request, error)
    except ValidationError as error:
        if challenge.goal_kind != Challenge.GoalKind.SKILLS:
            _refused(request, error)
            return _back(challenge)
        # A skills goal needs the skill offered: the same page, with the error next to the choice.
        form = forms.OfferForm(request.POST, slots=list(challenge.skill_slots.all()))
        form.is_valid()
        if not form.errors:
            service_errors_add(form, error)
        return _challenge_page(request, challenge, offer_form=form)
    else:
        messages.success(request, _("You pledged. It counts as soon as enough others join."))
    return _back(challenge)


@participant_required
@require_POST
def challenge_offer(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = _challenge_or_404(pk)
    slots = list(challenge.skill_slots.all())
    form = forms.OfferForm(request.POST, slots=slots)
    if form.is_valid():
        try:
            challenge_services.pledge_create(
                user=request_user(request),
                challenge_id=challenge.pk,
                skill_slot_id=form.cleaned_data["skill_slot"],
            )
        except TransitionRefused as error:
            _refused(request, error)
            return _back(challenge)
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            slot = next((s for s in slots if s.pk == form.cleaned_data["skill_slot"]), None)
            messages.success(
                request,
                _("You offered yourself as “%(skill)s”. Log your hours here once you start.")
                % {"skill": slot.skill if slot else ""},
            )
            return _back(challenge)
    return _challenge_page(request, challenge, offer_form=form)


def _pledge_action(request: HttpRequest, pk: int, action: Callable[..., object], done: str) -> HttpResponse:
    """A one-button action on one's own pledge: do it, say what happened or why not, go back."""
    challenge = _challenge_or_404(pk)
    try:
        action(user=request_user(request), challenge_id=challenge.pk)
    except (TransitionRefused, ValidationError) as error:
        _refused(request, error)
    else:
        messages.success(request, done)
    return _back(challenge)


@participant_required
@require_POST
def challenge_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    return _pledge_action(request, pk, challenge_services.pledge_withdraw, _("Your pledge is withdrawn."))


@participant_required
@require_POST
def challenge_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    return _pledge_action(
        request, pk, challenge_services.pledge_confirm, _("Thank you: you confirmed you did it.")
    )


@participant_required
@require_POST
def challenge_contribute(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = _challenge_or_404(pk)
    if challenge.goal_kind == Challenge.GoalKind.PARTICIPANTS:
        messages.error(request, _("This challenge counts pledges, not quantities."))
        return _back(challenge)
    user = request_user(request)
    skills = challenge.goal_kind == Challenge.GoalKind.SKILLS
    slots: list[SkillSlot] = list(challenge.skill_slots.all()) if skills else []
    form = forms.ContributionForm(request.POST, unit=_metric_unit(challenge.metric), slots=slots)
    if form.is_valid():
        data = form.cleaned_data
        try:
            contribution = challenge_services.contribution_create(
                user=user,
                challenge_id=challenge.pk,
                day=data["day"],
                amount=data["amount"],
                note=data["note"],
                skill_slot_id=data.get("skill_slot"),
            )
        except TransitionRefused as error:
            _refused(request, error)
            return _back(challenge)
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            unit = _("hours") if skills else _metric_unit(challenge.metric)
            messages.success(
                request,
                _("Logged: %(amount)s %(unit)s on %(day)s.")
                % {
                    "amount": format(contribution.amount.normalize(), "f"),
                    "unit": unit,
                    "day": contribution.day.isoformat(),
                },
            )
            return _back(challenge)
    return _challenge_page(request, challenge, contribution_form=form)


# My activity --------------------------------------------------------------------------------------


@participant_required
@require_safe
def my_activity(request: HttpRequest) -> HttpResponse:
    activity = pages.my_activity(request_user(request))
    page = Paginator(activity.contributions, PAGE_SIZE).get_page(request.GET.get("page"))
    french = (translation.get_language() or "").startswith("fr")
    totals = [
        {
            "total": total,
            "unit": _("hours")
            if total.goal_kind == Challenge.GoalKind.SKILLS
            else (total.unit_fr if french else total.unit_en),
        }
        for total in activity.totals
    ]
    contributions = [
        {
            "contribution": contribution,
            "unit": _("hours") if contribution.skill_slot_id else _metric_unit(contribution.challenge.metric),
        }
        for contribution in page.object_list
    ]
    pledges = [
        {
            "pledge": pledge,
            "status_label": choice_label(STATUS_LABELS, pledge.challenge.status),
        }
        for pledge in activity.pledges
    ]
    return render(
        request,
        "participants/pages/my_activity.html",
        {
            "activity": activity,
            "pledges": pledges,
            "totals": totals,
            "page": page,
            "contributions": contributions,
        },
    )


# Teams --------------------------------------------------------------------------------------------


@participant_required
@require_http_methods(["GET", "POST"])
def my_team(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    teams = list(pages.team_list_for_choice())
    current = pages.my_team(user)
    form = forms.TeamChoiceForm(
        request.POST if request.method == "POST" else None,
        teams=teams,
        initial={"team": current.pk if current else None},
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership = pages.team_choose(user=user, team_id=form.cleaned_data["team"])
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            messages.success(request, _("You are in the team “%(name)s”.") % {"name": membership.team.name})
            return redirect("participants:my_team")
    return render(
        request,
        "participants/pages/my_team.html",
        {"form": form, "team": current, "teams": teams, "error_summary": forms.error_summary(form)},
    )


@participant_required
@require_safe
def team_leaderboard(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    choices = list(
        Challenge.objects.exclude(status=Challenge.Status.DRAFT)
        .order_by("-deadline", "pk")
        .values_list("pk", "title")
    )
    form = forms.LeaderboardForm(request.GET or None, challenges=choices)
    challenge = None
    if form.is_valid() and form.cleaned_data["challenge"]:
        challenge = pages.challenge_for_participants(form.cleaned_data["challenge"])
    team = pages.my_team(user)
    rows: list[Any]
    if challenge is not None:
        rows = selectors.challenge_team_standings(challenge)
    else:
        rows = pages.team_leaderboard()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "participants/pages/team_leaderboard.html",
        {
            "form": form,
            "challenge": challenge,
            "unit": _goal_unit(challenge) if challenge else "",
            "page": page,
            "rows": page.object_list,
            "first_rank": page.start_index(),
            "team": team,
            "query": f"challenge={challenge.pk}&" if challenge else "",
        },
    )


@participant_required
@require_safe
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    team = get_object_or_404(Team.objects.select_related("captain"), pk=pk)
    page = Paginator(pages.team_members(team), PAGE_SIZE).get_page(request.GET.get("page"))
    members = [
        {"name": person_name(membership.user), "is_me": membership.user_id == user.pk}
        for membership in page.object_list
    ]
    summary = pages.team_summary(team, members=page.paginator.count)
    return render(
        request,
        "participants/pages/team_detail.html",
        {
            "team": team,
            "captain_name": person_name(team.captain),
            "page": page,
            "members": members,
            "summary": summary,
            "is_my_team": pages.my_team(user) == team,
        },
    )


# Privacy and my data ------------------------------------------------------------------------------


@participant_required
@require_http_methods(["GET", "POST"])
def my_privacy(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    initial = {"display_name": user.display_name, "show_name": user.show_name, "language": user.language}
    form = forms.PrivacyForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        organization_language=request_organization(request).locale,
    )
    if request.method == "POST" and form.is_valid():
        try:
            pages.user_preferences_update(
                user=user,
                display_name=form.cleaned_data["display_name"],
                show_name=form.cleaned_data["show_name"],
                language=form.cleaned_data["language"],
            )
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            language = user.language or request_organization(request).locale
            with translation.override(language):
                messages.success(request, _("Your preferences are saved."))
            return redirect("participants:my_privacy")
    return render(
        request,
        "participants/pages/my_privacy.html",
        {"form": form, "error_summary": forms.error_summary(form)},
    )


def _my_data_page(request: HttpRequest, form: forms.EraseForm) -> HttpResponse:
    return render(
        request,
        "participants/pages/my_data.html",
        {"form": form, "error_summary": forms.error_summary(form)},
    )


@participant_required
@require_safe
def my_data(request: HttpRequest) -> HttpResponse:
    return _my_data_page(request, forms.EraseForm())


@participant_required
@require_safe
@never_cache
def my_data_export(request: HttpRequest) -> HttpResponse:
    data = pages.user_data_export(request_user(request))
    slug, today = request_organization(request).schema_name, timezone.localdate().isoformat()
    filename = f"crowdact-{slug}-my-data-{today}.json"
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@participant_required
@require_POST
def my_data_erase(request: HttpRequest) -> HttpResponse:
    form = forms.EraseForm(request.POST)
    if not form.is_valid():
        return _my_data_page(request, form)
    try:
        pages.user_erase(user=request_user(request))
    except ValidationError as error:
        service_errors_add(form, error)
        return _my_data_page(request, form)
    logout(request)
    messages.success(request, _("Your account is erased. Thank you for taking part."))
    return redirect("home")


# The widget intranets frame -----------------------------------------------------------------------


@_in_organization_time
def _embed_page(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = _challenge_or_404(pk)
    slots = list(challenge.skill_slots.all())
    now = timezone.now()
    return render(
        request,
        "participants/pages/embed_challenge.html",
        {
            "challenge": challenge,
            "progress": selectors.challenge_progress(challenge, slots),
            "unit": _goal_unit(challenge),
            "status_label": choice_label(STATUS_LABELS, challenge.status),
            "joinable": challenge.status in pages.TAKING_PART and now < challenge.deadline,
            "join_path": pages.embed_join_path(challenge),
        },
    )


@xframe_options_exempt
@require_safe
def embed_challenge(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Public: title, progress and a button that opens the challenge (or its join link) in the top window.

    Only the organisation's `embed_origins` may frame it; with none listed, nobody may.
    """
    ancestors = pages.embed_frame_ancestors(request_organization(request).embed_origins)
    framable_by_intranets = csp_replace({"frame-ancestors": ancestors})
    return framable_by_intranets(functools.partial(_embed_page, pk=pk))(request)
