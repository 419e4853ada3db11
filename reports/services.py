"""Writes of the reports app: asking for a report, making it, sharing it, recording downloads.

`report_request` is the one way a job starts (pages, API, the monthly job): it checks who asks and
what, then joins a job already queued or running for the same period and language, or queues a new
one on commit. `report_generate` (from the task) renders and stores it; `report_attempt_failed`
records a failed attempt, and the last one marks the report failed with its reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import AuditEntry, Notification, User
from accounts.roles import EXECUTIVE
from core.audit import audit_record
from core.notifications import Recipient, message_from_template, send_once
from core.permissions import can_read_all
from reports.documents import report_pdf
from reports.models import Report, ReportDownload, ReportShare
from reports.periods import month_period, period_from_dates
from tenants.background import enqueue_on_commit
from tenants.models import Organization
from tenants.selectors import current_organization, organization_brand, organization_url

logger = logging.getLogger(__name__)

LANGUAGES = ("en", "fr")
GENERATE_TASK = "reports.tasks.report_generate"
SHARE_DAYS = 30
SHARE_DAYS_MOST = 365
PROGRESS_EVERY = 0.5  # seconds between two progress writes


def _require_reader(actor: Any) -> None:
    if not can_read_all(actor):
        raise PermissionDenied(gettext("Only an organisation admin or an executive can do this."))


def report_request_check(
    start: Any, end: Any, language: Any, *, today: dt.date
) -> tuple[dt.date, dt.date, str]:
    """The period and language asked, or ValidationError with a message per field."""
    errors: dict[str, list[str]] = {}
    if language not in LANGUAGES:
        errors["language"] = [gettext("Choose English (en) or French (fr).")]
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        errors.setdefault("start", []).append(gettext("Give the first and last day of the period."))
        raise ValidationError(errors)
    try:
        period = period_from_dates(start, end, today=today)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return period.start, period.asked_end, str(language)


def report_request(
    actor: Any,
    start: dt.date,
    end: dt.date,
    language: str,
    *,
    organization: Organization | None = None,
    origin: str = Report.Origin.REQUESTED,
) -> tuple[Report, bool]:
    """The job making the report of [start, end] in `language`, and whether it is new.

    A job already queued or running for the same period and language is joined, not doubled.
    """
    if origin == Report.Origin.REQUESTED:
        _require_reader(actor)
    organization = organization or current_organization()
    today = timezone.localdate(timezone.now(), zoneinfo.ZoneInfo(organization.timezone))
    start, end, language = report_request_check(start, end, language, today=today)
    pending = Report.objects.filter(
        start=start, end=end, language=language, status__in=[Report.Status.QUEUED, Report.Status.RUNNING]
    )
    existing = pending.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            report = Report.objects.create(
                start=start,
                end=end,
                language=language,
                origin=origin,
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        # Another request made it between our look and our insert: join it.
        joined = pending.first()
        if joined is None:
            raise
        return joined, False
    enqueue_on_commit(GENERATE_TASK, report.pk)
    return report, True


class _Progress:
    """Writes the render's percentage to the row, at most every PROGRESS_EVERY seconds."""

    def __init__(self, report_id: int) -> None:
        self.report_id = report_id
        self.written = 0.0

    def __call__(self, percent: int) -> None:
        now = time.monotonic()
        if percent < 100 and now - self.written < PROGRESS_EVERY:
            return
        self.written = now
        # Capped at 99: "done" (and 100) is set with the file, in one write.
        Report.objects.filter(pk=self.report_id, status=Report.Status.RUNNING).update(
            progress=min(percent, 99)
        )


def report_generate(report_id: int) -> Report | None:
    """Render the report and store its file; None when there is no such report. A done report is
    left as it is (the task ran twice). Exceptions go up, for the task to retry."""
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or report.status == Report.Status.DONE:
            return report
        report.status = Report.Status.RUNNING
        report.progress = 1
        report.attempts = F("attempts") + 1
        report.started_at = timezone.now()
        report.save(update_fields=["status", "progress", "attempts", "started_at"])
    report.refresh_from_db()
    organization = current_organization()
    _, pdf = report_pdf(
        organization, report.start, report.end, language=report.language, progress=_Progress(report.pk)
    )
    name = f"impact-{organization.schema_name}-{report.start}-{report.end}-{report.language}-{report.pk}.pdf"
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status == Report.Status.DONE:  # another run finished first
            return report
        report.file.save(name, ContentFile(pdf), save=False)
        report.size = len(pdf)
        report.status = Report.Status.DONE
        report.progress = 100
        report.error = ""
        report.finished_at = timezone.now()
        report.save(update_fields=["file", "size", "status", "progress", "error", "finished_at"])
    return report


def report_attempt_failed(report_id: int, error: BaseException, *, last: bool) -> None:
    """Record a failed attempt: queued again for the retry, or failed with the reason after the last."""
    reason = f"{type(error).__name__}: {error}"[:500]
    logger.warning("Report %s failed (last attempt: %s): %s", report_id, last, reason)
    status = Report.Status.FAILED if last else Report.Status.QUEUED
    fields: dict[str, Any] = {"status": status, "error": reason}
    if last:
        fields["finished_at"] = timezone.now()
    else:
        fields["progress"] = 0
    Report.objects.filter(pk=report_id).exclude(status=Report.Status.DONE).update(**fields)


def report_download_record(
    report: Report, *, user: Any = None, share: ReportShare | None = None, via: str
) -> None:
    ReportDownload.objects.create(
        report=report, user=user if getattr(user, "is_authenticated", False) else None, share=share, via=via
    )


# Sharing ------------------------------------------------------------------------------------------


def share_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewShare:
    share: ReportShare
    token: str  # shown once: only its hash is stored


def _audit_target(report: Report) -> str:
    return f"{report.start}–{report.end} ({report.language})"


def report_share_create(actor: Any, report: Report, *, days: int = SHARE_DAYS) -> NewShare:
    """A share link to a done report, valid `days` days (1–365)."""
    _require_reader(actor)
    if report.status != Report.Status.DONE:
        raise ValidationError({"report": [gettext("Only a report that is ready can be shared.")]})
    if not isinstance(days, int) or not 1 <= days <= SHARE_DAYS_MOST:
        raise ValidationError({"days": [gettext("Give a number of days from 1 to 365.")]})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        share = ReportShare.objects.create(
            report=report,
            token_hash=share_token_hash(token),
            created_by=actor,
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        # A link that anyone holding it can open: the trail says who made it, for what, until when.
        audit_record(
            AuditEntry.Kind.REPORT_SHARED,
            actor=actor,
            target=_audit_target(report),
            changes=[{"field": "expires_at", "old": None, "new": share.expires_at.isoformat()}],
        )
    return NewShare(share, token)


def report_share_revoke(actor: Any, share: ReportShare) -> ReportShare:
    _require_reader(actor)
    if share.revoked_at is None:
        with transaction.atomic():
            share.revoked_at = timezone.now()
            share.save(update_fields=["revoked_at"])
            audit_record(
                AuditEntry.Kind.REPORT_SHARE_REVOKED, actor=actor, target=_audit_target(share.report)
            )
    return share


def report_share_use(token: str) -> ReportShare | None:
    """The live share of `token`, its use counted and its download recorded; None otherwise."""
    if not token or len(token) > 100:
        return None
    now = timezone.now()
    with transaction.atomic():
        share = (
            ReportShare.objects.select_for_update()
            .select_related("report")
            .filter(token_hash=share_token_hash(token), revoked_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if share is None or share.report.status != Report.Status.DONE or not share.report.file:
            return None
        ReportShare.objects.filter(pk=share.pk).update(uses=F("uses") + 1, last_used_at=now)
        report_download_record(share.report, share=share, via="share")
    share.refresh_from_db()
    return share


# Monthly ------------------------------------------------------------------------------------------

MONTHLY_DAYS = 3  # the 1st of the month, and two days to catch up if the beat was down


def previous_month(today: dt.date) -> tuple[dt.date, dt.date]:
    last = today.replace(day=1) - dt.timedelta(days=1)
    return month_period(last.year, last.month)


def monthly_report_request(organization: Organization, today: dt.date) -> Report | None:
    """The previous month's report in the organisation's language, asked once per month (the
    monthly constraint): None when it is not the start of a month or it was asked already."""
    if today.day > MONTHLY_DAYS:
        return None
    start, end = previous_month(today)
    language = organization.locale if organization.locale in LANGUAGES else "en"
    if Report.objects.filter(origin=Report.Origin.MONTHLY, start=start, end=end, language=language).exists():
        return None
    with transaction.atomic():
        # Someone asked for the same month a moment ago: that job becomes the monthly one.
        pending = (
            Report.objects.select_for_update()
            .filter(
                start=start,
                end=end,
                language=language,
                status__in=[Report.Status.QUEUED, Report.Status.RUNNING],
            )
            .first()
        )
        if pending is not None:
            Report.objects.filter(pk=pending.pk).update(origin=Report.Origin.MONTHLY)
            pending.origin = Report.Origin.MONTHLY
            return pending
    try:
        with transaction.atomic():
            report = Report.objects.create(
                start=start, end=end, language=language, origin=Report.Origin.MONTHLY
            )
    except IntegrityError:
        return None  # a second run of the job at this moment
    enqueue_on_commit(GENERATE_TASK, report.pk)
    return report


def monthly_report_event_key(report: Report) -> str:
    return f"report:monthly:{report.start.isoformat()}:{report.language}"


def monthly_report_notify(organization: Organization, report_id: int) -> int:
    """E-mail the organisation's executives a link to the monthly report, once per month."""
    report = Report.objects.filter(
        pk=report_id, origin=Report.Origin.MONTHLY, status=Report.Status.DONE
    ).first()
    if report is None:
        return 0
    context = {
        "organization": organization,
        "report": report,
        "url": organization_url(organization, f"/manage/impact/reports/#report-{report.pk}"),
    }

    def render(row: Notification) -> EmailMessage:
        with timezone.override(zoneinfo.ZoneInfo(organization.timezone)):
            context["period"] = period_from_dates(report.start, report.end, today=report.end).label()
            body = render_to_string(
                f"reports/emails/monthly_report.{row.language or organization.locale}.txt", context
            )
        return message_from_template(body, row.recipient, organization_brand(organization))

    executives = User.objects.filter(is_active=True, groups__name=EXECUTIVE).distinct()
    recipients = [Recipient(user.email, user.language or organization.locale, user.pk) for user in executives]
    return send_once(monthly_report_event_key(report), recipients, render)
