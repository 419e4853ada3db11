"""The impact report as a PDF: the same `ImpactReport` as the dashboard, printed on paper.

`report_document_html` writes the whole document (templates/reports/report.html) in the report's
language; `report_pdf` computes the report and renders it with `reports.rendering.render_pdf`
(PDF/UA-1). WeasyPrint's time and memory grow with the pages (about 0.3 s and 8 MB each), so long
lists are cut to their first `PDF_LIST_MOST` rows with a line saying how many more the CSV holds.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from reports.rendering import organization_media_folder, render_pdf
from reports.selectors import ImpactReport, impact_report, number
from tenants.models import Organization
from tenants.selectors import current_organization

PDF_LIST_MOST = 12  # rows of a long table printed in the PDF; the CSV has them all
BASE_PAGES = 9  # cover, summary, participation, challenges, impact, ledger, methodology, appendix


@dataclass(frozen=True)
class Shortened:
    """The first rows of a list, and how many were left for the CSV."""

    rows: tuple[Any, ...]
    more: int
    total: int


def shorten(rows: Sequence[Any], most: int = PDF_LIST_MOST) -> Shortened:
    # One row over the limit would take the place of its own "1 more" line: print it.
    if len(rows) <= most + 1:
        return Shortened(tuple(rows), 0, len(rows))
    return Shortened(tuple(rows[:most]), len(rows) - most, len(rows))


def _logo_src(organization: Organization) -> str:
    """The logo as a file URL under the organisation's own folder ("" without one, or missing)."""
    if not organization.logo:
        return ""
    try:
        path = Path(default_storage.path(organization.logo.name or ""))
    except (NotImplementedError, ValueError):
        return ""
    return path.resolve().as_uri() if path.is_file() else ""


def report_title() -> str:
    return gettext("Impact report")


def summary_sentences(report: ImpactReport) -> list[str]:
    """What a board member reads first: the period in three sentences, figures as the headline's."""
    now = report.current
    people = ngettext(
        "In %(period)s, %(people)s person took part in the organisation's challenges (%(challenges)s ran).",
        "In %(period)s, %(people)s people took part in the organisation's challenges (%(challenges)s ran).",
        now.participants,
    ) % {
        "period": report.period.label,
        "people": report.figure("participants").display,
        "challenges": number(now.challenges.total),
    }
    if now.participation_rate is not None:
        people += " " + gettext("That is %(rate)s of the headcount.") % {
            "rate": report.figure("participation_rate").display
        }
    outcomes = gettext(
        "Outcomes: %(succeeded)s succeeded, %(open)s still open, %(failed)s failed, %(cancelled)s cancelled."
    ) % {
        "succeeded": number(now.challenges.succeeded),
        "open": number(now.challenges.open),
        "failed": number(now.challenges.failed),
        "cancelled": number(now.challenges.cancelled),
    }
    impact = ngettext(
        "Participants avoided an estimated %(co2e)s and gave %(hours)s hour of their time to projects.",
        "Participants avoided an estimated %(co2e)s and gave %(hours)s hours of their time to projects.",
        int(now.volunteer_hours) if now.volunteer_hours == int(now.volunteer_hours) else 2,
    ) % {"co2e": report.figure("co2e_avoided_kg").display, "hours": number(now.volunteer_hours)}
    commitments = gettext("Commitments of the organisation: %(delivered)s delivered, %(due)s still due.") % {
        "delivered": number(report.ledger.delivered),
        "due": number(report.ledger.due),
    }
    return [people, outcomes, impact, commitments]


def report_document_html(report: ImpactReport, organization: Organization) -> str:
    """The report's whole HTML document, in its language, numbers and dates in its time zone."""
    zone = zoneinfo.ZoneInfo(report.time_zone)
    with translation.override(report.language), timezone.override(zone):
        context = {
            "report": report,
            "title": f"{report_title()} · {report.organization_name} · {report.period.label}",
            "logo_src": _logo_src(organization),
            "brand": report.brand_color,
            "teams": shorten(report.teams),
            "challenges": shorten(report.challenges),
            "ledger": shorten(report.ledger.rows),
            "metrics": shorten(report.metrics),
            "list_most": PDF_LIST_MOST,
            "is_company": report.organization_kind == "company",
            "generated_on": timezone.localtime(report.generated_at, zone).date(),
            "summary": summary_sentences(report),
        }
        return render_to_string("reports/report.html", context)


def expected_pages(report: ImpactReport) -> int:
    """About how many pages the document takes, for the progress bar."""
    rows = sum(len(shorten(rows).rows) for rows in (report.teams, report.challenges, report.ledger.rows))
    return BASE_PAGES + rows // 20


def report_pdf(
    organization: Organization | None,
    start: dt.date,
    end: dt.date,
    *,
    language: str,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[ImpactReport, bytes]:
    """The report of [start, end] in `language` and its PDF/UA-1 bytes, in the current schema."""
    organization = organization or current_organization()
    report = impact_report(organization, start, end, language=language, today=today)
    html = report_document_html(report, organization)
    pdf = render_pdf(
        html,
        language=language,
        progress=progress,
        expected_pages=expected_pages(report),
        media_folder=organization_media_folder(),
    )
    return report, pdf
