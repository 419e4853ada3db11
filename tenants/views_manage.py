"""The organisation's console pages of the tenants app: its settings, and its logo for every page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from core.pages import error_summary, reader_required, service_errors_add
from core.permissions import can_manage
from tenants.branding import logo_content_type
from tenants.forms import OrganizationSettingsForm
from tenants.http import request_organization
from tenants.services import organization_settings_update


@reader_required
@require_http_methods(["GET", "POST"])
def manage_settings(request: HttpRequest) -> HttpResponse:
    """Admins change the settings; executives read them."""
    organization = request_organization(request)
    editable = can_manage(request.user)
    form = OrganizationSettingsForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial=OrganizationSettingsForm.initial_of(organization),
        organization=organization,
    )
    if request.method == "POST":
        if not editable:
            raise Http404
        if form.is_valid():
            try:
                organization_settings_update(
                    actor=request.user,
                    organization=organization,
                    fields=form.settings_fields(),
                    logo=form.cleaned_data.get("logo"),
                    remove_logo=bool(form.cleaned_data.get("remove_logo")),
                )
            except ValidationError as error:
                service_errors_add(form, error)
            else:
                messages.success(request, _("The organisation's settings are saved."))
                return redirect("organization_settings")
    return render(
        request,
        "tenants/manage_settings.html",
        {"form": form, "editable": editable, "error_summary": error_summary(form)},
    )


@require_safe
def organization_logo(request: HttpRequest, name: str) -> HttpResponseBase:
    """This organisation's logo, and nothing else: the file name is its content's hash, so the
    answer never changes and may be cached for good."""
    organization = request_organization(request)
    if not organization.logo or organization.logo_filename != name:
        raise Http404
    response = FileResponse(organization.logo.open("rb"), content_type=logo_content_type(name))
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    return response
