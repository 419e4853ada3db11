"""HR / CSR manager pages: challenges (create, edit, publish, cancel, dashboard, delivery) and teams.

Views stay thin: a form checks the shape of the input, a service does the write and says what is
wrong, a selector reads. Reading a list or a dashboard needs "accounts.view_dashboard" (executives
and admins); every write needs "accounts.manage_organization".
"""

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.http import request_user
from accounts.selectors import person_label
from challenges import forms, selectors, services
from challenges.library import CHALLENGE_TEMPLATES, TEMPLATES_BY_KEY
from challenges.models import Challenge, ChallengeEvent, Counterpart, Metric, Team
from challenges.states import CHALLENGE_TRANSITIONS
from core.choices import choice_label
from core.errors import PaymentRequired
from core.pages import error_summary, manager_required, reader_required, refused
from core.permissions import MANAGE
from core.transitions import TransitionRefused
from tenants.http import request_organization
from tenants.limits import billing_path

PAGE_SIZE = 50
# The changes a challenge's dashboard lists, the latest; its history page has them all.
DASHBOARD_HISTORY = 20


# Challenges: list ---------------------------------------------------------------------------------


@reader_required
@require_safe
def manage_challenge_list(request: HttpRequest) -> HttpResponse:
    filter_form = forms.ChallengeFilterForm(request.GET or None)
    status = filter_form.cleaned_data["status"] if filter_form.is_valid() else ""
    page = Paginator(selectors.challenge_list(status=status or None), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "challenge": challenge,
            "status_label": challenge.get_status_display(),
            "progress": selectors.challenge_progress(challenge, list(challenge.skill_slots.all())),
            "unit": selectors.goal_unit(challenge),
            "counterpart_label": _counterpart_label(challenge),
        }
        for challenge in page.object_list
    ]
    return render(
        request,
        "challenges/manage_list.html",
        {
            "filter_form": filter_form,
            "status": status,
            "page": page,
            "rows": rows,
            "can_manage": request_user(request).has_perm(MANAGE),
        },
    )


def _counterpart_label(challenge: Challenge) -> str:
    counterpart = getattr(challenge, "counterpart", None)
    return counterpart.get_status_display() if counterpart is not None else ""


# Challenges: create and edit ----------------------------------------------------------------------


def _challenge_form_page(
    request: HttpRequest,
    form: forms.ChallengeForm,
    formset: Any,
    *,
    challenge: Challenge | None = None,
    slot_errors: list[str] | None = None,
    template_key: str = "",
) -> HttpResponse:
    locale = request_organization(request).locale
    templates = [
        {
            "key": template.key,
            "title": template.text("title", locale),
            "description": template.text("description", locale),
            "counterpart": template.text("counterpart", locale),
            "goal_kind": Challenge.GoalKind(template.goal_kind).label,
        }
        for template in CHALLENGE_TEMPLATES
    ]
    slot_errors = [*formset.non_form_errors(), *(slot_errors or [])] if formset.is_bound else []
    return render(
        request,
        "challenges/manage_form.html",
        {
            "form": form,
            "formset": formset,
            "slot_errors": slot_errors,
            "challenge": challenge,
            "templates": templates if challenge is None else [],
            "template_key": template_key,
            "error_summary": error_summary(form, formset, slot_errors, extra_anchor="skill-slots"),
        },
    )


def _slot_formset(request: HttpRequest, initial: list[dict[str, Any]] | None = None) -> Any:
    if request.method == "POST":
        return forms.SkillSlotFormSet(request.POST, prefix=forms.SKILL_SLOTS_PREFIX)
    return forms.SkillSlotFormSet(initial=initial, prefix=forms.SKILL_SLOTS_PREFIX)


def _form_kwargs(request: HttpRequest) -> dict[str, Any]:
    return {"timezone_name": request_organization(request).timezone}


@manager_required
@require_http_methods(["GET", "POST"])
def manage_challenge_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = forms.ChallengeForm(request.POST, **_form_kwargs(request))
        formset = _slot_formset(request)
        if form.is_valid() and formset.is_valid():
            template_key = form.cleaned_data["template_key"]
            try:
                challenge = services.challenge_create(
                    actor=request_user(request),
                    fields=form.challenge_fields(),
                    skill_slots=_slots_for(form, formset),
                    counterpart=form.counterpart_input(),
                    template_key=template_key if template_key in TEMPLATES_BY_KEY else "",
                )
            except ValidationError as error:
                slot_errors = forms.service_errors_add(form, error)
                return _challenge_form_page(request, form, formset, slot_errors=slot_errors)
            messages.success(request, _("Draft saved. Publish it when it is ready."))
            return redirect("challenges:manage_dashboard", pk=challenge.pk)
        return _challenge_form_page(request, form, formset)

    template_key = request.GET.get("template", "")
    template = TEMPLATES_BY_KEY.get(template_key)
    initial: dict[str, Any] = {}
    slots: list[dict[str, Any]] = []
    if template is not None:
        metric = Metric.objects.filter(key=template.metric).first() if template.metric else None
        initial, slots = forms.challenge_initial_from_template(
            template, request_organization(request).locale, timezone.now(), metric
        )
    form = forms.ChallengeForm(initial=initial, **_form_kwargs(request))
    return _challenge_form_page(
        request, form, _slot_formset(request, slots), template_key=template.key if template else ""
    )


def _slots_for(form: forms.ChallengeForm, formset: Any) -> list[services.SkillSlotInput]:
    # Slots belong to skills goals only: another kind of goal drops them.
    if form.cleaned_data.get("goal_kind") != Challenge.GoalKind.SKILLS:
        return []
    return forms.skill_slot_inputs(formset)


@manager_required
@require_http_methods(["GET", "POST"])
def manage_challenge_edit(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = get_object_or_404(selectors.challenge_list(), pk=pk)
    if challenge.status != Challenge.Status.DRAFT:
        messages.error(request, _("Only a draft can be edited: once published, its terms are a promise."))
        return redirect("challenges:manage_dashboard", pk=challenge.pk)
    has_counterpart = getattr(challenge, "counterpart", None) is not None
    kwargs = {**_form_kwargs(request), "has_counterpart": has_counterpart}
    if request.method == "POST":
        form = forms.ChallengeForm(request.POST, **kwargs)
        formset = _slot_formset(request)
        if form.is_valid() and formset.is_valid():
            try:
                services.challenge_update(
                    actor=request_user(request),
                    challenge_id=challenge.pk,
                    fields=form.challenge_fields(),
                    skill_slots=_slots_for(form, formset),
                    counterpart=form.counterpart_input(),
                    remove_counterpart=form.counterpart_removed(),
                )
            except TransitionRefused as error:
                refused(request, error)
                return redirect("challenges:manage_dashboard", pk=challenge.pk)
            except ValidationError as error:
                slot_errors = forms.service_errors_add(form, error)
                return _challenge_form_page(
                    request, form, formset, challenge=challenge, slot_errors=slot_errors
                )
            messages.success(request, _("Draft saved."))
            return redirect("challenges:manage_dashboard", pk=challenge.pk)
        return _challenge_form_page(request, form, formset, challenge=challenge)

    initial, slots = forms.challenge_initial_from_instance(challenge)
    form = forms.ChallengeForm(initial=initial, **kwargs)
    return _challenge_form_page(request, form, _slot_formset(request, slots), challenge=challenge)


# Challenges: transitions --------------------------------------------------------------------------


@manager_required
@require_POST
def manage_challenge_publish(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = get_object_or_404(Challenge, pk=pk)
    try:
        services.challenge_publish(actor=request_user(request), challenge_id=challenge.pk)
    except PaymentRequired as error:
        # The plan's open challenges are all taken (or the organisation is read-only): where to upgrade.
        messages.error(
            request,
            format_html('{} <a href="{}">{}</a>', str(error), billing_path(), _("See the plans and upgrade")),
        )
    except (TransitionRefused, ValidationError) as error:
        refused(request, error)
    else:
        messages.success(request, _("The challenge is open: share its link."))
    return redirect("challenges:manage_dashboard", pk=challenge.pk)


@manager_required
@require_http_methods(["GET", "POST"])
def manage_challenge_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = get_object_or_404(Challenge, pk=pk)
    if request.method == "GET" and challenge.status not in CHALLENGE_TRANSITIONS["cancel"].sources:
        # A POST goes to the service, which says why (and decides under the row lock).
        messages.error(request, _("Only a draft or an open challenge can be cancelled."))
        return redirect("challenges:manage_dashboard", pk=challenge.pk)
    form = forms.CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.challenge_cancel(
                actor=request_user(request), challenge_id=challenge.pk, cause=form.cleaned_data["cause"]
            )
        except TransitionRefused as error:
            refused(request, error)
            return redirect("challenges:manage_dashboard", pk=challenge.pk)
        except ValidationError as error:
            forms.service_errors_add(form, error)
        else:
            messages.success(request, _("The challenge is cancelled."))
            return redirect("challenges:manage_dashboard", pk=challenge.pk)
    return render(
        request,
        "challenges/manage_cancel.html",
        {"challenge": challenge, "form": form, "error_summary": error_summary(form)},
    )


# Challenges: dashboard and delivery ---------------------------------------------------------------


def _dashboard_page(
    request: HttpRequest, pk: int, delivery_form: forms.DeliveryForm | None = None
) -> HttpResponse:
    challenge = get_object_or_404(selectors.challenge_list(), pk=pk)
    slots = list(challenge.skill_slots.all())
    progress = selectors.challenge_progress(challenge, slots)
    forecast = selectors.challenge_forecast(challenge)
    counterpart = getattr(challenge, "counterpart", None)
    can_manage = request_user(request).has_perm(MANAGE)
    if delivery_form is None and can_manage and counterpart is not None and counterpart.status == "due":
        delivery_form = forms.DeliveryForm()
    # The latest changes, in the order they happened; the whole history has a page of its own.
    latest = list(selectors.challenge_events(challenge).reverse()[: DASHBOARD_HISTORY + 1])
    events = _history_rows(reversed(latest[:DASHBOARD_HISTORY]))
    return render(
        request,
        "challenges/manage_dashboard.html",
        {
            "challenge": challenge,
            "status_label": challenge.get_status_display(),
            "category_label": challenge.get_category_display(),
            "unit": selectors.goal_unit(challenge),
            "metric_name": selectors.metric_name(challenge.metric),
            "slots": slots,
            "progress": progress,
            "forecast": forecast,
            "needed_per_day": forecast.needed_per_day if forecast else None,
            "standings": selectors.challenge_team_standings(challenge),
            "counterpart": counterpart,
            "counterpart_label": _counterpart_label(challenge),
            "delivery_form": delivery_form if can_manage else None,
            "events": events,
            "history_is_longer": len(latest) > DASHBOARD_HISTORY,
            "can_manage": can_manage,
            "can_edit": can_manage and challenge.status == Challenge.Status.DRAFT,
            "can_publish": can_manage and challenge.status in CHALLENGE_TRANSITIONS["publish"].sources,
            "can_cancel": can_manage and challenge.status in CHALLENGE_TRANSITIONS["cancel"].sources,
            "error_summary": error_summary(delivery_form),
        },
    )


def _history_rows(events: Iterable[ChallengeEvent]) -> list[dict[str, object]]:
    labels: dict[tuple[str, str], str] = {}  # each label translated once per page, not once per row

    def label(subject: str, status: str) -> str:
        if (subject, status) not in labels:
            labels[subject, status] = _status_label(subject, status)
        return labels[subject, status]

    return [
        {
            "event": event,
            "actor": person_label(event.actor),
            "from_label": label(event.subject, event.from_status),
            "to_label": label(event.subject, event.to_status),
        }
        for event in events
    ]


def _status_label(subject: str, status: str) -> str:
    if not status:
        return ""
    statuses = Counterpart.Status if subject == ChallengeEvent.Subject.COUNTERPART else Challenge.Status
    return choice_label(statuses, status)


@reader_required
@require_safe
def manage_challenge_history(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = get_object_or_404(selectors.challenge_list(), pk=pk)
    page = Paginator(selectors.challenge_events(challenge), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "challenges/manage_history.html",
        {"challenge": challenge, "page": page, "events": _history_rows(page.object_list)},
    )


@reader_required
@require_safe
def manage_challenge_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    return _dashboard_page(request, pk)


@manager_required
@require_POST
def manage_counterpart_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    challenge = get_object_or_404(Challenge, pk=pk)
    form = forms.DeliveryForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.counterpart_deliver(
                actor=request_user(request),
                challenge_id=challenge.pk,
                proof_text=form.cleaned_data["proof_text"],
                proof_url=form.cleaned_data["proof_url"],
                proof_file=form.cleaned_data["proof_file"],
            )
        except TransitionRefused as error:
            refused(request, error)
            return redirect("challenges:manage_dashboard", pk=challenge.pk)
        except ValidationError as error:
            forms.service_errors_add(form, error)
        else:
            messages.success(request, _("The delivery is recorded; participants are told."))
            return redirect("challenges:manage_dashboard", pk=challenge.pk)
    return _dashboard_page(request, challenge.pk, delivery_form=form)


# Teams --------------------------------------------------------------------------------------------


@reader_required
@require_safe
def manage_team_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.team_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "team": team,
            "kind_label": team.get_kind_display(),
            "captain": person_label(team.captain) if team.captain is not None else "",
        }
        for team in page.object_list
    ]
    return render(
        request,
        "challenges/manage_teams.html",
        {"page": page, "rows": rows, "can_manage": request_user(request).has_perm(MANAGE)},
    )


def _team_form_page(
    request: HttpRequest, form: forms.TeamForm, team: Team | None = None, team_name: str = ""
) -> HttpResponse:
    return render(
        request,
        "challenges/manage_team_form.html",
        {"form": form, "team": team, "team_name": team_name, "error_summary": error_summary(form)},
    )


@manager_required
@require_http_methods(["GET", "POST"])
def manage_team_create(request: HttpRequest) -> HttpResponse:
    form = forms.TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(
                actor=request_user(request),
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                captain=form.cleaned_data["captain_email"],
                headcount=form.cleaned_data["headcount"],
            )
        except ValidationError as error:
            forms.team_service_errors_add(form, error)
        else:
            messages.success(request, _("Team “%(name)s” created.") % {"name": team.name})
            return redirect(reverse("challenges:team_list"))
    return _team_form_page(request, form)


@manager_required
@require_http_methods(["GET", "POST"])
def manage_team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team.objects.select_related("captain"), pk=pk)
    captain_email = team.captain.email if team.captain else ""
    initial = {
        "name": team.name,
        "kind": team.kind,
        "captain_email": captain_email,
        "headcount": team.headcount,
    }
    form = forms.TeamForm(request.POST or None, initial=initial)
    # The service changes the instance before it checks it: keep the saved name for the page.
    team_name = team.name
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(
                actor=request_user(request),
                team=team,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                captain=form.cleaned_data["captain_email"],
                headcount=form.cleaned_data["headcount"],
            )
        except ValidationError as error:
            forms.team_service_errors_add(form, error)
        else:
            messages.success(request, _("Team “%(name)s” saved.") % {"name": team.name})
            return redirect(reverse("challenges:team_list"))
    return _team_form_page(request, form, team, team_name)


@manager_required
@require_POST
def manage_team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    name = team.name
    try:
        services.team_delete(actor=request_user(request), team=team)
    except ValidationError as error:
        refused(request, error)
    else:
        messages.success(request, _("Team “%(name)s” deleted.") % {"name": name})
    return redirect(reverse("challenges:team_list"))
