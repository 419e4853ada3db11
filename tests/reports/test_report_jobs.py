"""Report jobs: asked for on /manage/impact/reports/, made in the background, followed by a status
URL, downloaded (each download recorded), shared with stakeholders; the monthly report."""

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import AuditEntry
from accounts.roles import EXECUTIVE, ORG_ADMIN
from reports import services
from reports.models import Report, ReportDownload, ReportShare
from tests.factories import UserFactory
from tests.reports.support import march_make

pytestmark = pytest.mark.django_db

PAGE = "/manage/impact/reports/"
MARCH = {"start": "2025-03-01", "end": "2025-03-31", "language": "en"}


def status_of(client: Client, report: Report) -> dict:
    response = client.get(f"{PAGE}{report.pk}/status/")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def made(in_org_a, admin_client, django_capture_on_commit_callbacks):
    """March's report, asked for by the admin on the page and made by the task (run inline)."""
    march_make(in_org_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(PAGE, MARCH)
    assert response.status_code == 302
    return Report.objects.get()


def test_an_admin_asks_for_a_report_follows_it_and_downloads_it(made, admin_client, admin):
    # Then the job is done, its file stored in the organisation's own folder
    assert made.status == Report.Status.DONE
    assert made.progress == 100
    assert made.attempts == 1
    assert made.requested_by == admin
    path = Path(made.file.path)
    assert path.is_relative_to(Path(settings.MEDIA_ROOT) / "alpha" / "reports")
    assert status_of(admin_client, made) | {"finished_at": None} == {
        "id": made.pk, "start": "2025-03-01", "end": "2025-03-31", "language": "en", "status": "done",
        "status_label": "Ready", "progress": 100, "error": "",
        "download_url": f"{PAGE}{made.pk}/download/", "finished_at": None,
    }  # fmt: skip
    # When the admin downloads it twice
    for _ in range(2):
        response = admin_client.get(f"{PAGE}{made.pk}/download/")
        assert response.status_code == 200
        pdf = b"".join(response.streaming_content)
    # Then it is the PDF, and both downloads are recorded
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    root: Any = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert root["/Lang"] == "en"
    assert ReportDownload.objects.filter(report=made, user=admin, via="page").count() == 2
    page = admin_client.get(PAGE).content.decode()
    assert f'id="report-{made.pk}"' in page
    assert "Download the PDF" in page
    assert "data-status-url" not in page  # nothing left to follow
    assert "reports/reports.js" in page
    assert "<script>" not in page


def test_a_report_being_made_is_followed_by_the_page_script(in_org_a, admin_client):
    # Given a request whose task has not run yet (not committed)
    response = admin_client.post(PAGE, MARCH)
    report = Report.objects.get()
    assert response.status_code == 302
    assert report.status == Report.Status.QUEUED
    # Then the page names its status URL for the script, and the status says queued
    page = admin_client.get(PAGE).content.decode()
    assert f'data-status-url="{PAGE}{report.pk}/status/"' in page
    data = status_of(admin_client, report)
    assert (data["status"], data["progress"], data["download_url"]) == ("queued", 0, None)
    # And its download is not there yet
    assert admin_client.get(f"{PAGE}{report.pk}/download/").status_code == 404


def test_a_second_request_for_the_same_period_and_language_joins_the_first(in_org_a, admin, executive):
    first, created = services.report_request(admin, dt.date(2025, 3, 1), dt.date(2025, 3, 31), "en")
    again, created_again = services.report_request(executive, dt.date(2025, 3, 1), dt.date(2025, 3, 31), "en")
    french, created_french = services.report_request(
        executive, dt.date(2025, 3, 1), dt.date(2025, 3, 31), "fr"
    )

    assert created
    assert not created_again
    assert created_french
    assert again.pk == first.pk
    assert french.pk != first.pk
    assert Report.objects.count() == 2
    # Two at once would meet the database's constraint, not make two jobs
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(start=first.start, end=first.end, language="en")
    # Once done, a new request makes a new job
    Report.objects.filter(pk=first.pk).update(status=Report.Status.DONE)
    later, created_later = services.report_request(admin, dt.date(2025, 3, 1), dt.date(2025, 3, 31), "en")
    assert created_later
    assert later.pk != first.pk


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**MARCH, "language": "de"}, "language"),
        ({**MARCH, "end": "2025-02-01"}, "end"),
        ({**MARCH, "start": "not a date"}, "start"),
        ({"language": "en"}, "start"),
    ],
)
def test_a_bad_request_is_refused_with_a_message_and_makes_nothing(in_org_a, admin_client, data, field):
    response = admin_client.post(PAGE, data)

    assert response.status_code == 400
    assert (
        f'id="id_{field}_error' in response.content.decode() or "error-summary" in response.content.decode()
    )
    assert Report.objects.count() == 0


def test_a_failing_render_is_retried_then_marked_failed_with_its_reason(
    in_org_a, admin_client, tmp_path, settings, django_capture_on_commit_callbacks
):
    # Given storage that cannot be written to (its folder is a file)
    blocked = tmp_path / "media"
    blocked.write_text("not a folder")
    settings.MEDIA_ROOT = str(blocked)
    # When a report is asked for
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(PAGE, MARCH)
    # Then it was tried three times, and failed with the reason
    report = Report.objects.get()
    assert report.status == Report.Status.FAILED
    assert report.attempts == 3
    assert "Error" in report.error
    assert report.error
    assert not report.file
    data = status_of(admin_client, report)
    assert data["status"] == "failed"
    assert data["error"] == report.error
    assert "It could not be made" in admin_client.get(PAGE).content.decode()


def test_participants_are_refused_and_other_organisations_find_nothing(
    org_b, client_b, made, participant_client
):
    share = services.report_share_create(made.requested_by, made)
    for path in (PAGE, f"{PAGE}{made.pk}/status/", f"{PAGE}{made.pk}/download/"):
        assert participant_client.get(path).status_code == 403, path
    assert participant_client.post(PAGE, MARCH).status_code == 403
    assert participant_client.post(f"{PAGE}{made.pk}/share/").status_code == 403
    assert participant_client.post(f"/manage/impact/shares/{share.share.pk}/revoke/").status_code == 403
    with tenant_context(org_b):
        client_b.force_login(UserFactory.create(email="boss@beta.test", role=ORG_ADMIN))
    for path in (f"{PAGE}{made.pk}/status/", f"{PAGE}{made.pk}/download/", f"/shared/reports/{share.token}/"):
        assert client_b.get(path).status_code == 404, path
    assert client_b.post(f"{PAGE}{made.pk}/share/").status_code == 404
    # Nothing changed: no job, no download, the share still live and unused
    assert Report.objects.count() == 1
    assert ReportDownload.objects.count() == 0
    share.share.refresh_from_db()
    assert share.share.uses == 0
    assert share.share.revoked_at is None


def test_an_executive_shares_a_report_that_stakeholders_download_until_revoked(made, client_a, org_a):
    executive = UserFactory.create(email="board@alpha.test", role=EXECUTIVE)
    client_a.force_login(executive)
    # When the executive creates a share link
    page = client_a.post(f"{PAGE}{made.pk}/share/").content.decode()
    share = ReportShare.objects.get()
    url = page.split('id="share-url" type="text" readonly value="', 1)[1].split('"', 1)[0]
    assert url.startswith("http://alpha.")
    assert "/shared/reports/" in url
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 40
    assert share.token_hash != token
    assert (share.expires_at - timezone.now()).days in (29, 30)
    # Then anyone downloads it without signing in, each use counted
    stranger = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}")
    for _ in range(2):
        response = stranger.get(f"/shared/reports/{token}/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]
    share.refresh_from_db()
    assert share.uses == 2
    assert ReportDownload.objects.filter(share=share, via="share", user=None).count() == 2
    assert stranger.get(f"/shared/reports/{token[:-1]}x/").status_code == 404
    # When it is revoked, it opens nothing
    assert client_a.post(f"/manage/impact/shares/{share.pk}/revoke/").status_code == 302
    assert stranger.get(f"/shared/reports/{token}/").status_code == 404
    share.refresh_from_db()
    assert share.uses == 2
    # And the audit trail says who shared which report until when, and who revoked it
    trail = list(
        AuditEntry.objects.order_by("at", "pk").values_list("kind", "actor__email", "target", "changes")
    )
    assert trail == [
        (
            "report_shared", "board@alpha.test", f"{made.start}–{made.end} ({made.language})",
            [{"field": "expires_at", "old": None, "new": share.expires_at.isoformat()}],
        ),
        ("report_share_revoked", "board@alpha.test", f"{made.start}–{made.end} ({made.language})", []),
    ]  # fmt: skip


def test_an_expired_share_link_opens_nothing(made, admin):
    new = services.report_share_create(admin, made, days=1)
    ReportShare.objects.filter(pk=new.share.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    stranger = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}")
    assert stranger.get(f"/shared/reports/{new.token}/").status_code == 404
    new.share.refresh_from_db()
    assert new.share.uses == 0


def test_only_a_done_report_can_be_shared_and_for_1_to_365_days(in_org_a, admin):
    queued, _ = services.report_request(admin, dt.date(2025, 3, 1), dt.date(2025, 3, 31), "en")
    with pytest.raises(services.ValidationError):
        services.report_share_create(admin, queued)
    Report.objects.filter(pk=queued.pk).update(status=Report.Status.DONE)
    queued.refresh_from_db()
    for days in (0, 366):
        with pytest.raises(services.ValidationError):
            services.report_share_create(admin, queued, days=days)
    assert ReportShare.objects.count() == 0


def test_the_monthly_report_is_made_once_and_sent_to_executives(in_org_a, django_capture_on_commit_callbacks):
    # Given two executives and an admin
    UserFactory.create(email="ceo@alpha.test", role=EXECUTIVE)
    UserFactory.create(email="cfo@alpha.test", role=EXECUTIVE, language="fr")
    UserFactory.create(email="hr@alpha.test", role=ORG_ADMIN)
    first_day = timezone.localdate().replace(day=1)
    # When the monthly job runs on the 1st, twice
    with django_capture_on_commit_callbacks(execute=True):
        report = services.monthly_report_request(in_org_a, first_day)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.monthly_report_request(in_org_a, first_day)
    # Then last month's report is made once, and each executive got one e-mail with a link
    assert report is not None
    assert again is None
    report.refresh_from_db()
    last_month_end = first_day - dt.timedelta(days=1)
    assert (report.start, report.end) == (last_month_end.replace(day=1), last_month_end)
    assert report.status == Report.Status.DONE
    assert report.origin == Report.Origin.MONTHLY
    assert report.language == in_org_a.locale
    assert sorted(m.to[0] for m in mail.outbox) == ["ceo@alpha.test", "cfo@alpha.test"]
    for message in mail.outbox:
        assert f"/manage/impact/reports/#report-{report.pk}" in message.body
        assert not message.attachments
    # And sending it again sends nothing more
    services.monthly_report_notify(in_org_a, report.pk)
    assert len(mail.outbox) == 2
    # Mid-month, the job does nothing
    assert services.monthly_report_request(in_org_a, first_day + dt.timedelta(days=14)) is None
    assert Report.objects.count() == 1


def test_the_monthly_job_takes_over_a_request_for_the_same_month(in_org_a, admin):
    first_day = timezone.localdate().replace(day=1)
    start, end = services.previous_month(first_day)
    asked, _ = services.report_request(admin, start, end, in_org_a.locale)

    monthly = services.monthly_report_request(in_org_a, first_day)

    assert monthly is not None
    assert monthly.pk == asked.pk
    assert Report.objects.get().origin == Report.Origin.MONTHLY
