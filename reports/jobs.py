"""Reads of report jobs for the pages and the API: a fixed number of queries whatever the count."""

from collections.abc import Sequence
from typing import Any

from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone

from reports.models import Report, ReportShare

RECENT = 50


def reports_recent(limit: int = RECENT) -> QuerySet[Report]:
    """The organisation's reports, newest first, with how often each was downloaded."""
    return Report.objects.select_related("requested_by").annotate(download_count=Count("downloads"))[:limit]


def shares_of(reports: Sequence[Report]) -> dict[int, list[ReportShare]]:
    """The live and past share links of these reports, by report id (one query); each report also
    gets them as `share_list`, for the page."""
    out: dict[int, list[ReportShare]] = {report.pk: [] for report in reports}
    for share in ReportShare.objects.filter(report__in=[r.pk for r in reports]):
        out[share.report_id].append(share)
    for report in reports:
        report.share_list = out[report.pk]  # type: ignore[attr-defined]
    return out


def report_status_data(report: Report) -> dict[str, Any]:
    """What the page's script and the API read while a report is made."""
    return {
        "id": report.pk,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "language": report.language,
        "status": report.status,
        "status_label": str(report.get_status_display()),
        "progress": report.progress,
        "error": report.error,
        "download_url": reverse("reports:report_download", kwargs={"report_id": report.pk})
        if report.status == Report.Status.DONE
        else None,
        "finished_at": timezone.localtime(report.finished_at).isoformat() if report.finished_at else None,
    }
