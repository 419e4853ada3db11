"""Participant pages: home, a challenge and its actions, my activity, my team, privacy, my data, teams,
and the challenge widget that intranets frame.

Views stay thin: a form checks the shape of the input, a service (challenges/services.py or
participants/services.py) does the write and says what is wrong, a selector reads. Every page but the
public home and the widget needs a signed-in person, and runs in the organisation's time zone.
Each action is its own POST, answered by a redirect and a message; when the input is wrong, the page
comes back with the errors next to the fields and nothing written.
"""

import functools
import json
from collections.abc import Callable

from csp.decorators import csp_replace
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.http import request_user
from accounts.selectors import person_name
from accounts.services import user_preferences_update
from challenges import selectors
from challenges import services as challenge_services
from challenges.forms import service_errors_add
from challenges.models import Challenge, SkillSlot, Team
from core.pages import error_summary, refused, signed_in_required
from core.transitions import TransitionRefused
from participants import forms_pages as forms
from participants import selectors as participant_selectors
from participants import services as participant_services
from participants import widget
from tenants.http import request_organization

PAGE_SIZE = 50
# The challenge page shows the leading teams and the person's own; /teams/ shows them all.
STANDINGS_SHOWN = 10
participant_required = signed_in_required


def _challenge_or_404(pk: int) -> Challenge:
    challenge = selectors.challenge_for_participants(pk)
    if challenge is None:
        raise Http404
    return challenge


# Home ---------------------------------------------------------------------------------------------


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the challenges to take part in. Signed out: what this place is, and how to come in."""
    if not request.user.is_authenticated:
        return render(
            request,
            "participants/pages/home_public.html",
            {"login_url": resolve_url(settings.LOGIN_URL)},
        )
    user = request_user(request)
    page = Paginator(selectors.challenges_taking_part(), PAGE_SIZE).get_page(request.GET.get("page"))
    challenges = list(page.object_list)
    pledges = selectors.active_pledges_by_challenge(user, [challenge.pk for challenge in challenges])
    now = timezone.now()
    cards = []
    for challenge in challenges:
        slots = list(challenge.skill_slots.all())
        pledge = pledges.get(challenge.pk)
        cards.append(
            {
                "challenge": challenge,
                "progress": selectors.challenge_progress(challenge, slots),
                "unit": selectors.goal_unit(challenge),
                "status_label": challenge.get_status_display(),
                "category_label": challenge.get_category_display(),
                "pledge": pledge,
                "actions": participant_selectors.challenge_actions(challenge, pledge, slots, now),
            }
        )
    return render(
        request,
        "participants/pages/home.html",
        {"page": page, "cards": cards, "team": selectors.team_of(user.pk)},
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
    pledge = selectors.active_pledge(user, challenge)
    actions = participant_selectors.challenge_actions(challenge, pledge, slots)
    unit = selectors.goal_unit(challenge)
    skills = challenge.goal_kind == Challenge.GoalKind.SKILLS
    if offer_form is None and actions.offer:
        offer_form = forms.OfferForm(slots=slots)
    if contribution_form is None and actions.contribute:
        contribution_form = forms.ContributionForm(
            unit=selectors.metric_unit(challenge.metric),
            slots=slots if skills else (),
            pledged_slot_id=pledge.skill_slot_id if pledge else None,
        )
    forecast = selectors.challenge_forecast(challenge)
    standings = selectors.challenge_team_standings(challenge)
    team = selectors.team_of(user.pk)
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
            "status_label": challenge.get_status_display(),
            "category_label": challenge.get_category_display(),
            "unit": unit,
            "metric_unit": selectors.metric_unit(challenge.metric),
            "slots": slots,
            "progress": selectors.challenge_progress(challenge, slots),
            "forecast": forecast,
            "needed_per_day": forecast.needed_per_day if forecast else None,
            "standings": standings[:STANDINGS_SHOWN],
            "more_teams": len(standings) > STANDINGS_SHOWN,
            "team": team,
            "my_rank": my_rank,
            "my_standing": standings[my_rank - 1] if my_rank else None,
            "counterpart": counterpart,
            "counterpart_label": counterpart.get_status_display() if counterpart else "",
            "pledge": pledge,
            "actions": actions,
            "mine": selectors.person_contributions(user, challenge)
            if challenge.goal_kind != Challenge.GoalKind.PARTICIPANTS
            else None,
            "offer_form": offer_form,
            "contribution_form": contribution_form,
            "error_summary": [item for form in bound for item in error_summary(form)],
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
        challenge_services.pledge_create(actor=request_user(request), challenge_id=challenge.pk)
    except TransitionRefused as error:
        refused(request, error)
    except ValidationError as error:
        if challenge.goal_kind != Challenge.GoalKind.SKILLS:
            refused(request, error)
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
                actor=request_user(request),
                challenge_id=challenge.pk,
                skill_slot_id=form.cleaned_data["skill_slot"],
            )
        except TransitionRefused as error:
            refused(request, error)
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
        action(actor=request_user(request), challenge_id=challenge.pk)
    except (TransitionRefused, ValidationError) as error:
        refused(request, error)
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
    form = forms.ContributionForm(request.POST, unit=selectors.metric_unit(challenge.metric), slots=slots)
    if form.is_valid():
        data = form.cleaned_data
        try:
            contribution = challenge_services.contribution_create(
                actor=user,
                challenge_id=challenge.pk,
                day=data["day"],
                amount=data["amount"],
                note=data["note"],
                skill_slot_id=data.get("skill_slot"),
            )
        except TransitionRefused as error:
            refused(request, error)
            return _back(challenge)
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            unit = _("hours") if skills else selectors.metric_unit(challenge.metric)
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
    activity = participant_selectors.my_activity(request_user(request))
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
            "unit": _("hours")
            if contribution.skill_slot_id
            else selectors.metric_unit(contribution.challenge.metric),
        }
        for contribution in page.object_list
    ]
    pledges = [
        {
            "pledge": pledge,
            "status_label": pledge.challenge.get_status_display(),
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
    teams = list(selectors.team_list_for_choice())
    current = selectors.team_of(user.pk)
    form = forms.TeamChoiceForm(
        request.POST if request.method == "POST" else None,
        teams=teams,
        initial={"team": current.pk if current else None},
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership = participant_services.team_choose(actor=user, team_id=form.cleaned_data["team"])
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            messages.success(request, _("You are in the team “%(name)s”.") % {"name": membership.team.name})
            return redirect("participants:my_team")
    return render(
        request,
        "participants/pages/my_team.html",
        {"form": form, "team": current, "teams": teams, "error_summary": error_summary(form)},
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
        challenge = selectors.challenge_for_participants(form.cleaned_data["challenge"])
    team = selectors.team_of(user.pk)
    if challenge is not None:
        rows = selectors.challenge_team_standings(challenge)
    else:
        rows = selectors.team_standings(selectors.challenges_taking_part_ids())
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "participants/pages/team_leaderboard.html",
        {
            "form": form,
            "challenge": challenge,
            "unit": selectors.goal_unit(challenge) if challenge else "",
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
    page = Paginator(selectors.team_members(team), PAGE_SIZE).get_page(request.GET.get("page"))
    members = [
        {"name": person_name(membership.user), "is_me": membership.user_id == user.pk}
        for membership in page.object_list
    ]
    summary = selectors.team_summary(
        team, members=page.paginator.count, challenge_ids=selectors.challenges_taking_part_ids()
    )
    return render(
        request,
        "participants/pages/team_detail.html",
        {
            "team": team,
            "captain_name": person_name(team.captain),
            "page": page,
            "members": members,
            "summary": summary,
            "is_my_team": selectors.team_of(user.pk) == team,
            "participation": round(100 * summary.members / team.headcount) if team.headcount else None,
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
            user_preferences_update(
                actor=user,
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
        {"form": form, "error_summary": error_summary(form)},
    )


def _my_data_page(request: HttpRequest, form: forms.EraseForm) -> HttpResponse:
    return render(
        request,
        "participants/pages/my_data.html",
        {"form": form, "error_summary": error_summary(form)},
    )


@participant_required
@require_safe
def my_data(request: HttpRequest) -> HttpResponse:
    return _my_data_page(request, forms.EraseForm())


@participant_required
@require_safe
@never_cache
def my_data_export(request: HttpRequest) -> HttpResponse:
    data = participant_selectors.user_data_export(request_user(request), request_organization(request))
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
        participant_services.person_erase(actor=request_user(request))
    except ValidationError as error:
        service_errors_add(form, error)
        return _my_data_page(request, form)
    logout(request)
    messages.success(request, _("Your account is erased. Thank you for taking part."))
    return redirect("home")


# The widget intranets frame -----------------------------------------------------------------------


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
            "unit": selectors.goal_unit(challenge),
            "status_label": challenge.get_status_display(),
            "joinable": challenge.status in selectors.TAKING_PART and now < challenge.deadline,
            "join_path": widget.embed_join_path(challenge),
        },
    )


@xframe_options_exempt
@require_safe
def embed_challenge(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Public: title, progress and a button that opens the challenge (or its join link) in the top window.

    Only the organisation's `embed_origins` may frame it; with none listed, nobody may.
    """
    ancestors = widget.embed_frame_ancestors(request_organization(request).embed_origins)
    framable_by_intranets = csp_replace({"frame-ancestors": ancestors})
    return framable_by_intranets(functools.partial(_embed_page, pk=pk))(request)
