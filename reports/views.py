"""The executives' impact dashboard (/manage/impact/) and its CSV: admins and executives read them.

Thin: the picker (reports.forms) says which period; `impact_report` computes every figure; the page
and the CSV print them. A bad period is answered 400, with the picker and a message next to the
field, and no figures.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.pages import error_summary, reader_required, refused, service_errors_add
from core.permissions import can_manage
from reports.exports import impact_csv, impact_csv_filename
from reports.forms import ImpactPeriodForm, ReportRequestForm, period_query
from reports.http import report_file_response, share_url
from reports.jobs import report_status_data, reports_recent, shares_of
from reports.models import Report, ReportShare
from reports.periods import Period, default_period, presets
from reports.selectors import ImpactReport, impact_report
from reports.services import (
    report_download_record,
    report_request,
    report_share_create,
    report_share_revoke,
    report_share_use,
)
from tenants.http import request_organization


def _period_asked(request: HttpRequest) -> tuple[ImpactPeriodForm, Period | None]:
    """The picker bound to the query string, and the period it names (None: refused)."""
    today = timezone.localdate()
    form = ImpactPeriodForm(request.GET or None, today=today)
    if not form.is_bound:
        return form, default_period(today)
    if not form.is_valid():
        return form, None
    return form, form.resolved


def _report(request: HttpRequest, period: Period) -> ImpactReport:
    return impact_report(
        request_organization(request),
        period.start,
        period.asked_end,
        language=translation.get_language() or "en",
        today=timezone.localdate(),
    )


@reader_required
@require_safe
def impact_dashboard(request: HttpRequest) -> HttpResponse:
    form, period = _period_asked(request)
    context: dict[str, Any] = {"form": form, "report": None, "error_summary": error_summary(form)}
    if period is None:
        return render(request, "reports/impact.html", context, status=400)
    report = _report(request, period)
    query = period_query(period)
    context.update(
        form=ImpactPeriodForm(initial=ImpactPeriodForm.initial_for(period), today=form.today),
        report=report,
        query=query,
        presets=[
            {"label": label, "query": period_query(preset), "current": period_query(preset) == query}
            for label, preset in presets(form.today)
        ],
        can_manage=can_manage(request.user),
        is_company=report.organization_kind == "company",
    )
    return render(request, "reports/impact.html", context)


@reader_required
@require_safe
def impact_export(request: HttpRequest) -> HttpResponse:
    form, period = _period_asked(request)
    if period is None:
        context = {"form": form, "report": None, "error_summary": error_summary(form)}
        return render(request, "reports/impact.html", context, status=400)
    report = _report(request, period)
    response = HttpResponse(impact_csv(report), content_type="text/csv; charset=utf-8")
    filename = impact_csv_filename(request_organization(request).schema_name, report)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# Report jobs: ask, follow, download, share ---------------------------------------------------------


def _reports_page(
    request: HttpRequest, *, form: ReportRequestForm | None = None, new_share: Any = None, status: int = 200
) -> HttpResponse:
    today = timezone.localdate()
    organization = request_organization(request)
    form = form or ReportRequestForm(initial=ReportRequestForm.initial_for(today, organization.locale))
    reports = list(reports_recent())
    context = {
        "form": form,
        "reports": reports,
        "shares": shares_of(reports),
        "new_share": new_share,
        "error_summary": error_summary(form),
        "now": timezone.now(),
    }
    return render(request, "reports/reports.html", context, status=status)


@reader_required
@require_http_methods(["GET", "HEAD", "POST"])
def reports_page(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _reports_page(request)
    form = ReportRequestForm(request.POST)
    if not form.is_valid():
        return _reports_page(request, form=form, status=400)
    try:
        report, created = report_request(
            request.user, form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["language"]
        )
    except ValidationError as error:
        service_errors_add(form, error)
        return _reports_page(request, form=form, status=400)
    if created:
        messages.success(request, _("Your report is being made: it appears below when it is ready."))
    else:
        messages.info(request, _("This report was already being made: you will find it below."))
    return redirect(f"{reverse('reports:reports')}#report-{report.pk}")


@reader_required
@require_safe
def report_status(request: HttpRequest, report_id: int) -> JsonResponse:
    report = get_object_or_404(Report, pk=report_id)
    return JsonResponse(report_status_data(report))


@reader_required
@require_safe
def report_download(request: HttpRequest, report_id: int) -> HttpResponseBase:
    report = get_object_or_404(Report, pk=report_id, status=Report.Status.DONE)
    report_download_record(report, user=request.user, via="page")
    return report_file_response(report)


@reader_required
@require_POST
def report_share(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(Report, pk=report_id)
    try:
        new = report_share_create(request.user, report)
    except ValidationError as error:
        refused(request, error)
        return redirect(reverse("reports:reports"))
    link = share_url(request, new.token)
    return _reports_page(request, new_share={"report": report, "share": new.share, "url": link})


@reader_required
@require_POST
def report_share_revoke_view(request: HttpRequest, share_id: int) -> HttpResponse:
    share = get_object_or_404(ReportShare, pk=share_id)
    report_share_revoke(request.user, share)
    messages.success(request, _("The share link is revoked: it no longer opens the report."))
    return redirect(f"{reverse('reports:reports')}#report-{share.report_id}")


@require_safe
def shared_report(request: HttpRequest, token: str) -> HttpResponseBase:
    """A stakeholder's download, without signing in: 404 for an unknown, expired or revoked link."""
    share = report_share_use(token)
    if share is None:
        raise Http404
    response = report_file_response(share.report)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
