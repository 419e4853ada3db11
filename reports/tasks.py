"""Background work of the reports app, on the `reports` queue (CELERY_TASK_ROUTES): PDFs take
seconds and memory, so they run in their own recycled worker (deploy/, "worker-reports")."""

import zoneinfo
from typing import Any

from celery import shared_task
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from reports import services
from reports.models import Report
from tenants.background import task_signature
from tenants.models import Organization
from tenants.selectors import current_organization

RETRIES = 2  # three attempts in all, then the report is marked failed with the reason


@shared_task(bind=True, max_retries=RETRIES, acks_late=True)
def report_generate(self: Any, report_id: int) -> str:
    """Render and store one report; after a failure, try again, then mark it failed."""
    try:
        report = services.report_generate(report_id)
    except Exception as error:
        last = self.request.retries >= self.max_retries
        services.report_attempt_failed(report_id, error, last=last)
        if last:
            return "failed"
        raise self.retry(exc=error, countdown=10 * (self.request.retries + 1)) from error
    if report is None:
        return "missing"
    if report.origin == Report.Origin.MONTHLY and report.status == Report.Status.DONE:
        services.monthly_report_notify(current_organization(), report.pk)
    return str(report.status)


@shared_task
def monthly_report_make() -> bool:
    """In one organisation: the previous month's report, if it is the start of a month there."""
    organization = current_organization()
    today = timezone.localdate(timezone.now(), zoneinfo.ZoneInfo(organization.timezone))
    return services.monthly_report_request(organization, today) is not None


@shared_task
def monthly_reports_everywhere() -> int:
    """From beat, every hour: sent to each active organisation where the month has just begun."""
    now = timezone.now()
    sent = 0
    organizations = Organization.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name())
    for schema_name, zone in organizations.values_list("schema_name", "timezone"):
        if timezone.localtime(now, zoneinfo.ZoneInfo(zone)).day > services.MONTHLY_DAYS:
            continue
        task_signature("reports.tasks.monthly_report_make").apply_async(headers={"_schema_name": schema_name})
        sent += 1
    return sent
