"""Pages of accounts: setting a password, accepting an invitation, the audit trail."""

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from accounts.models import AuditEntry, User
from accounts.people import InvitationRefused, invitation_accept, invitation_check, person_role
from accounts.selectors import AuditFilters, audit_list, person_label
from core.pages import manager_required

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PAGE_SIZE = 50


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The one-time link a new admin receives: set a password, then land signed in."""

    template_name = "accounts/password_set.html"
    post_reset_login = True
    post_reset_login_backend = MODEL_BACKEND
    success_url = reverse_lazy("home")


# Invitations --------------------------------------------------------------------------------------

INVITATION_REFUSED_STATUS = {"unknown": 404, "used": 410, "expired": 410, "closed": 403}


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, secret: str) -> HttpResponse:
    """Accept an invitation: an admin or executive chooses a password; a participant signs in. By a
    POST from the page, never by opening the link (mail scanners open links)."""
    try:
        found = invitation_check(secret)
    except InvitationRefused as refusal:
        return render(
            request,
            "accounts/invitation_refused.html",
            {"reason": refusal.reason},
            status=INVITATION_REFUSED_STATUS[refusal.reason],
        )
    person = found.user
    sets_password = person_role(person) != "participant"
    form = SetPasswordForm(person, request.POST or None) if sets_password else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            user = invitation_accept(
                secret=secret, password=form.cleaned_data["new_password1"] if form else None
            )
        except InvitationRefused as refusal:
            return render(
                request,
                "accounts/invitation_refused.html",
                {"reason": refusal.reason},
                status=INVITATION_REFUSED_STATUS[refusal.reason],
            )
        login(request, user, backend=MODEL_BACKEND)
        messages.success(request, _("Welcome: you are signed in."))
        return redirect("home")
    return render(
        request,
        "accounts/invitation.html",
        {"person": person, "form": form, "sets_password": sets_password, "expires_at": found.expires_at},
    )


# The audit trail ----------------------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Action"),
        required=False,
        choices=[("", gettext_lazy("All")), *AuditEntry.Kind.choices],
    )
    person = forms.TypedChoiceField(
        label=gettext_lazy("Person"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["person"]
        assert isinstance(field, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        field.choices = [("", gettext_lazy("Everyone")), *[(p.pk, person_label(p)) for p in people]]

    def filters(self) -> AuditFilters:
        if not self.is_valid():
            return AuditFilters()
        return AuditFilters(kind=self.cleaned_data["kind"], person_id=self.cleaned_data["person"])


def _audit_people() -> list[User]:
    """Whoever acted: the admins, past and present (a short list)."""
    ids = AuditEntry.objects.exclude(actor=None).values("actor_id").distinct()
    return list(User.objects.filter(pk__in=ids).order_by("email"))


# What the audit page calls each recorded field (the CSV keeps the field's own name).
FIELD_LABELS = {
    "name": gettext_lazy("Name"),
    "headcount": gettext_lazy("Headcount"),
    "locale": gettext_lazy("Language"),
    "timezone": gettext_lazy("Time zone"),
    "allowed_email_domains": gettext_lazy("Allowed e-mail domains"),
    "embed_origins": gettext_lazy("Widget origins"),
    "brand_color": gettext_lazy("Brand colour"),
    "logo": gettext_lazy("Logo"),
    "role": gettext_lazy("Role"),
    "team": gettext_lazy("Team"),
    "cause": gettext_lazy("Cause"),
    "scope": gettext_lazy("Scope"),
    "created": gettext_lazy("Created"),
    "updated": gettext_lazy("Updated"),
    "teams_created": gettext_lazy("Teams created"),
    "join_link": gettext_lazy("Join link"),
    "purchase_order_number": gettext_lazy("Purchase order"),
}


def _change_text(change: dict[str, object], *, labels: bool = True) -> str:
    field, old, new = change.get("field"), change.get("old"), change.get("new")
    if labels:
        field = FIELD_LABELS.get(str(field), field)
    if old in (None, "", []) and new not in (None, "", []):
        return f"{field}: {_plain(new)}"
    return f"{field}: {_plain(old)} → {_plain(new)}"


def _plain(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return "—" if value in (None, "") else str(value)


def audit_rows(entries: Iterable[AuditEntry]) -> list[dict[str, object]]:
    return [
        {
            "entry": entry,
            "actor": person_label(entry.actor),
            "subject": person_label(entry.subject) if entry.subject_id else entry.target,
            "changes": [_change_text(change) for change in entry.changes],
        }
        for entry in entries
    ]


@manager_required
@require_safe
def audit(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, people=_audit_people())
    page = Paginator(audit_list(form.filters()), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit.html",
        {"form": form, "page": page, "rows": audit_rows(page.object_list), "query": query.urlencode()},
    )


@manager_required
@require_safe
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    form = AuditFilterForm(request.GET or None, people=_audit_people())
    entries = audit_list(form.filters())

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["at", "action", "by", "concerning", "changes", "client", "request_id"])
        for row in _stream_rows(entries):
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="crowdact-audit-{timezone.localdate()}.csv"'
    return response


def _stream_rows(entries: QuerySet[AuditEntry]) -> Iterator[list[str]]:
    for entry in entries.iterator(chunk_size=2000):
        yield [
            entry.at.isoformat(),
            entry.get_kind_display(),
            person_label(entry.actor),
            person_label(entry.subject) if entry.subject_id else entry.target,
            "; ".join(_change_text(change, labels=False) for change in entry.changes),
            entry.client,
            entry.request_id,
        ]
