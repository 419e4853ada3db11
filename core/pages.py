"""What the server-rendered pages share: who may open them, and how refusals and form errors show.

Views stay thin: a form checks the shape of the input, a service does the write and says what is
wrong (ValidationError per field, TransitionRefused, PermissionDenied), and these helpers put its
words next to the fields or in a message.
"""

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext as _

from core.permissions import MANAGE, VIEW_DASHBOARD
from core.transitions import TransitionRefused

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def permission_required(permission: str | None) -> Callable[[View], View]:
    """Anonymous people go to sign in; signed-in people without the permission get 403.

    None: any signed-in person. (The organisation's language and time zone are the middleware's.)
    """

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if permission and not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return cast(View, wrapped)

    return decorator


signed_in_required = permission_required(None)
reader_required = permission_required(VIEW_DASHBOARD)
manager_required = permission_required(MANAGE)


def refused(request: HttpRequest, error: TransitionRefused | ValidationError | PermissionDenied) -> None:
    """A service's refusal as an error message on the next page."""
    text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    messages.error(request, text or _("You cannot do this."))


def service_errors_add(
    form: forms.Form, error: ValidationError, *, fields: Mapping[str, str] | None = None
) -> list[str]:
    """Put a service's errors next to the form's fields (`fields` maps a service's field name to the
    form's where they differ); unknown keys go above the form, so that no message is lost. Returns
    the messages of keys mapped to "" (shown by the page elsewhere, e.g. beside a formset)."""
    fields = fields or {}
    by_field: Mapping[str, list[str]] = (
        error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    )
    elsewhere: list[str] = []
    for key, field_messages in by_field.items():
        name = fields.get(key, key)
        if name == "":
            elsewhere.extend(field_messages)
            continue
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)
    return elsewhere


def error_summary(
    form: forms.Form | None, formset: Any = None, extra: list[str] | None = None, extra_anchor: str = ""
) -> list[dict[str, Any]]:
    """Every error once, linking to its field: the list a screen reader hears first."""
    if form is None or not form.is_bound:
        return []
    summary: list[dict[str, Any]] = [
        {"anchor": "", "label": "", "message": m} for m in form.non_field_errors()
    ]
    for name, field_errors in form.errors.items():
        if name == "__all__":
            continue
        bound = form[name]
        anchor = bound.id_for_label or f"{bound.auto_id}_0"
        summary.extend({"anchor": anchor, "label": bound.label, "message": m} for m in field_errors)
    if formset is not None and formset.is_bound:
        for row in formset.forms:
            for name, field_errors in row.errors.items():
                summary.extend(
                    {"anchor": row[name].id_for_label, "label": row[name].label, "message": m}
                    for m in field_errors
                )
    summary.extend({"anchor": extra_anchor, "label": "", "message": m} for m in extra or [])
    return summary
