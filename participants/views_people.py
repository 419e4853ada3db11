"""The people console: who is in the organisation, their role and team; invitations; CSV in and out.

Admins change things; executives read. Every change goes through a service that checks the
permission, keeps an active admin and records itself in the audit trail.
"""

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import people as people_services
from accounts.http import request_user
from accounts.models import Invitation, User
from accounts.selectors import person_name
from challenges import selectors as challenge_selectors
from challenges.models import Team
from challenges.services import team_join
from core.audit import audit_record
from core.pages import error_summary, manager_required, reader_required, refused, service_errors_add
from core.permissions import can_manage
from participants import forms_people as forms
from participants import people_csv
from participants.selectors import PeoplePages, people_list, person_role_key, person_status
from tenants.http import request_organization

PAGE_SIZE = 50
IMPORT_SESSION_KEY = "people:import-file"


def _teams() -> list[Team]:
    return list(challenge_selectors.team_list_for_choice())


@reader_required
@require_safe
def people(request: HttpRequest) -> HttpResponse:
    teams = _teams()
    form = forms.PeopleFilterForm(request.GET or None, teams=teams)
    filters = form.filters()
    page: Page[User] = Paginator(PeoplePages(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "person": person,
            "name": person_name(person),
            "role": person_role_key(person),
            "status": person_status(person),
        }
        for person in page.object_list
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "participants/people/list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "can_manage": can_manage(request.user),
        },
    )


@reader_required
@require_safe
def people_export(request: HttpRequest) -> StreamingHttpResponse:
    teams = _teams()
    filters = forms.PeopleFilterForm(request.GET or None, teams=teams).filters()
    slug = request_organization(request).schema_name
    response = StreamingHttpResponse(
        people_csv.csv_text(people_csv.people_csv_rows(filters)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="crowdact-{slug}-people-{timezone.localdate()}.csv"'
    )
    return response


@manager_required
@require_http_methods(["GET", "POST"])
def person_invite(request: HttpRequest) -> HttpResponse:
    form = forms.InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = people_services.person_invite(actor=request_user(request), **form.cleaned_data)
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            messages.success(
                request,
                _("%(email)s is invited: the link works for 7 days.") % {"email": invitation.user.email},
            )
            return redirect("people:detail", pk=invitation.user_id)
    return render(
        request, "participants/people/invite.html", {"form": form, "error_summary": error_summary(form)}
    )


def _person_page(
    request: HttpRequest,
    person: User,
    *,
    role_form: forms.PersonRoleForm | None = None,
    team_form: forms.PersonTeamForm | None = None,
) -> HttpResponse:
    teams = _teams()
    annotated = people_list().filter(pk=person.pk).first() or person
    role = person_role_key(annotated)
    role_form = role_form or forms.PersonRoleForm(initial={"role": role})
    team_form = team_form or forms.PersonTeamForm(
        teams=teams, initial={"team": getattr(annotated, "team_id", None)}
    )
    invitation = Invitation.objects.filter(user=person, accepted_at__isnull=True).order_by("-pk").first()
    return render(
        request,
        "participants/people/detail.html",
        {
            "person": annotated,
            "name": person_name(annotated),
            "role": role,
            "status": person_status(annotated),
            "invitation": invitation,
            "role_form": role_form,
            "team_form": team_form,
            "teams": teams,
            "can_manage": can_manage(request.user),
            "is_me": person.pk == request.user.pk,
            "error_summary": [*error_summary(role_form), *error_summary(team_form)],
        },
    )


def _person(pk: int) -> User:
    return get_object_or_404(User.objects.filter(erased_at__isnull=True, is_superuser=False), pk=pk)


@reader_required
@require_safe
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _person_page(request, _person(pk))


@manager_required
@require_POST
def person_role(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(pk)
    form = forms.PersonRoleForm(request.POST)
    if form.is_valid():
        try:
            people_services.person_role_set(
                actor=request_user(request), person=person, role=form.cleaned_data["role"]
            )
        except ValidationError as error:
            service_errors_add(form, error)
        else:
            messages.success(request, _("The role is saved."))
            return redirect("people:detail", pk=person.pk)
    return _person_page(request, person, role_form=form)


@manager_required
@require_POST
def person_team(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(pk)
    teams = _teams()
    form = forms.PersonTeamForm(request.POST, teams=teams)
    if form.is_valid():
        team = next(team for team in teams if team.pk == form.cleaned_data["team"])
        actor = request_user(request)
        before = challenge_selectors.team_of(person.pk)
        team_join(actor=actor, user=person, team=team)
        if before != team:
            audit_record(
                "team_changed",
                actor=actor,
                subject=person,
                changes=[{"field": "team", "old": before.name if before else None, "new": team.name}],
            )
        messages.success(
            request, _("%(name)s is now in the team “%(team)s”.") % {"name": person.email, "team": team.name}
        )
        return redirect("people:detail", pk=person.pk)
    return _person_page(request, person, team_form=form)


@manager_required
@require_POST
def person_active(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(pk)
    actor = request_user(request)
    try:
        if request.POST.get("active") == "0":
            people_services.person_deactivate(actor=actor, person=person)
            messages.success(
                request,
                _("%(email)s can no longer sign in; what they did still counts.") % {"email": person.email},
            )
        else:
            people_services.person_reactivate(actor=actor, person=person)
            messages.success(request, _("%(email)s can sign in again.") % {"email": person.email})
    except (ValidationError, PermissionDenied) as error:
        refused(request, error)
    return redirect("people:detail", pk=person.pk)


@manager_required
@require_POST
def person_invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(pk)
    try:
        people_services.invitation_resend(actor=request_user(request), person=person)
    except ValidationError as error:
        refused(request, error)
    else:
        messages.success(request, _("A new invitation is on its way; the previous link no longer works."))
    return redirect("people:detail", pk=person.pk)


# Import -------------------------------------------------------------------------------------------


@manager_required
@require_http_methods(["GET", "POST"])
def people_import(request: HttpRequest) -> HttpResponse:
    """Upload a file: its lines are checked and shown; nothing is written before the confirmation."""
    organization = request_organization(request)
    form = forms.ImportForm(request.POST or None, request.FILES or None)
    reading = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read(people_csv.MAX_BYTES + 1)
        reading = people_csv.people_csv_read(data, organization)
        if not reading.errors and reading.lines:
            _import_file_forget(request)
            # Kept in the organisation's own folder until the admin confirms (or uploads another).
            name = default_storage.save(f"imports/{uuid.uuid4().hex}.csv", ContentFile(data))
            request.session[IMPORT_SESSION_KEY] = name
    return render(
        request,
        "participants/people/import.html",
        {
            "form": form,
            "reading": reading,
            "confirm_form": forms.ImportConfirmForm(),
            "error_summary": error_summary(form),
        },
    )


def _import_file_forget(request: HttpRequest) -> None:
    name = request.session.pop(IMPORT_SESSION_KEY, None)
    if name and name.startswith("imports/"):
        default_storage.delete(name)


@manager_required
@require_POST
def people_import_confirm(request: HttpRequest) -> HttpResponse:
    organization = request_organization(request)
    name = request.session.get(IMPORT_SESSION_KEY, "")
    if not name or not name.startswith("imports/") or not default_storage.exists(name):
        messages.error(request, _("Upload the file again: the one you checked is no longer here."))
        return redirect("people:import")
    with default_storage.open(name, "rb") as stored:
        reading = people_csv.people_csv_read(stored.read(), organization)
    confirm = forms.ImportConfirmForm(request.POST)
    all_or_nothing = confirm.is_valid() and confirm.cleaned_data["all_or_nothing"]
    try:
        outcome = people_csv.people_import(
            actor=request_user(request),
            organization=organization,
            reading=reading,
            all_or_nothing=all_or_nothing,
        )
    except ValidationError as error:
        refused(request, error)
        return redirect("people:import")
    _import_file_forget(request)
    messages.success(
        request,
        _(
            "Imported: %(created)s new people, %(updated)s changed, %(unchanged)s unchanged, "
            "%(teams)s new teams; %(skipped)s lines with errors left out."
        )
        % {
            "created": outcome.created,
            "updated": outcome.updated,
            "unchanged": outcome.unchanged,
            "teams": outcome.teams_created,
            "skipped": outcome.skipped,
        },
    )
    return redirect("people:list")
