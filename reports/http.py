"""What the pages and the API answer alike: a report's file, and a share link's address."""

from django.http import FileResponse, Http404, HttpRequest

from reports.models import Report
from tenants.http import request_organization
from tenants.selectors import organization_url


def report_file_name(report: Report) -> str:
    return f"impact-report-{report.start.isoformat()}-{report.end.isoformat()}-{report.language}.pdf"


def report_file_response(report: Report) -> FileResponse:
    """The stored PDF as an attachment; 404 when the file is gone."""
    if not report.file:
        raise Http404
    try:
        handle = report.file.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(
        handle, as_attachment=True, filename=report_file_name(report), content_type="application/pdf"
    )
    response["Cache-Control"] = "private, no-store"
    return response


def share_url(request: HttpRequest, token: str) -> str:
    """The public address of a share link, on the organisation's own host."""
    return organization_url(request_organization(request), f"/shared/reports/{token}/")
