"""Report jobs, their downloads and their share links (in each organisation's schema).

A `Report` is one PDF of a period in a language: asked for by a person (or made by the monthly
job), rendered in the background on the `reports` queue, stored under the organisation's folder.
While one is queued or running, asking again for the same period and language joins it (a partial
unique constraint, so that two requests at once still make one job); the monthly job makes at most
one per period. A `ReportShare` lets people outside the organisation download one done report
without signing in: only the hash of its token is stored.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import pgettext_lazy


def report_upload_to(instance: "Report", filename: str) -> str:
    # The storage already puts files under the current organisation's folder.
    return f"reports/{filename}"


class Report(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("report", "Queued")
        RUNNING = "running", pgettext_lazy("report", "Being made")
        DONE = "done", pgettext_lazy("report", "Ready")
        FAILED = "failed", pgettext_lazy("report", "Failed")

    class Origin(models.TextChoices):
        REQUESTED = "requested", pgettext_lazy("report", "Asked for")
        MONTHLY = "monthly", pgettext_lazy("report", "Monthly")

    start = models.DateField()
    end = models.DateField()
    language = models.CharField(max_length=2)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.REQUESTED)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to=report_upload_to, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["start", "end", "language"],
                condition=Q(status__in=["queued", "running"]),
                name="report_one_job_per_period",
            ),
            models.UniqueConstraint(
                fields=["start", "end", "language"],
                condition=Q(origin="monthly"),
                name="report_one_monthly_per_period",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_progress_percent"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="report_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.start}–{self.end} ({self.language}, {self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class ReportShare(models.Model):
    """A public link to one done report: expires, can be revoked, counts its uses."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="shares")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"share of report {self.report_id}"

    def is_live(self, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.revoked_at is None and self.expires_at > moment  # type: ignore[operator]


class ReportDownload(models.Model):
    """One download of a report's file: by a person of the organisation, or through a share link."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    share = models.ForeignKey(ReportShare, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    via = models.CharField(max_length=10)  # page, api, share
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"download of report {self.report_id}"
