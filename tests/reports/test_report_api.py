"""/api/v1/reports/: ask for a PDF report (202, joined while one runs), follow it, download it, share
it; participants get 403, other organisations 404; answers match the OpenAPI document."""

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.roles import ORG_ADMIN
from reports.models import Report, ReportDownload, ReportShare
from tests.api import V1, api_client
from tests.factories import UserFactory
from tests.reports.support import march_make

pytestmark = pytest.mark.django_db

MARCH = {"start": "2025-03-01", "end": "2025-03-31", "language": "fr"}


def test_ask_follow_download_and_share_a_report(in_org_a, admin, django_capture_on_commit_callbacks):
    march_make(in_org_a)
    client = api_client(admin)
    # When a report is asked for, twice before it runs
    first = client.post(f"{V1}/reports/", MARCH, content_type="application/json")
    second = client.post(f"{V1}/reports/", MARCH, content_type="application/json")
    # Then both answers are the same queued job
    assert first.status_code == second.status_code == 202
    job = first.json()
    assert second.json()["id"] == job["id"]
    assert (job["status"], job["progress"], job["error"], job["download_url"]) == ("queued", 0, "", None)
    assert client.get(f"{V1}/reports/{job['id']}/download/").status_code == 409
    assert (
        client.post(f"{V1}/reports/{job['id']}/share/", {}, content_type="application/json").status_code
        == 409
    )
    # When it is made
    from reports.tasks import report_generate

    with django_capture_on_commit_callbacks(execute=True):
        report_generate.apply(args=(job["id"],))
    detail = client.get(f"{V1}/reports/{job['id']}/").json()
    assert (detail["status"], detail["progress"]) == ("done", 100)
    assert detail["download_url"] == f"{V1}/reports/{job['id']}/download/"
    listed = client.get(f"{V1}/reports/").json()
    assert [r["id"] for r in listed["results"]] == [job["id"]]
    assert {k: listed["results"][0][k] for k in ("start", "end", "language", "status")} == {
        "start": "2025-03-01", "end": "2025-03-31", "language": "fr", "status": "done"
    }  # fmt: skip
    # Then it downloads, recorded
    response = client.get(f"{V1}/reports/{job['id']}/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body: bytes = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert body.startswith(b"%PDF")
    assert ReportDownload.objects.filter(via="api", user=admin).count() == 1
    # And a share link works without signing in
    shared = client.post(f"{V1}/reports/{job['id']}/share/", {"days": 7}, content_type="application/json")
    assert shared.status_code == 201
    url = shared.json()["url"]
    assert url.startswith(f"http://alpha.{settings.BASE_DOMAIN}")
    path = url.split(settings.BASE_DOMAIN, 1)[1].split("/", 1)[1]
    assert Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}").get(f"/{path}").status_code == 200
    assert ReportShare.objects.get().uses == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**MARCH, "language": "de"}, "language"),
        ({**MARCH, "start": "2025-13-01"}, "start"),
        ({**MARCH, "end": "2025-02-01"}, "end"),
        ({"start": "2025-03-01", "end": "2025-03-31"}, "language"),
    ],
)
def test_bad_input_is_a_400_per_field_and_makes_nothing(in_org_a, admin, body, field):
    response = api_client(admin).post(f"{V1}/reports/", body, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()
    assert Report.objects.count() == 0


def test_a_bad_share_duration_is_a_400(in_org_a, admin):
    report = Report.objects.create(start="2025-03-01", end="2025-03-31", language="en", status="done")
    response = api_client(admin).post(
        f"{V1}/reports/{report.pk}/share/", {"days": 0}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "days" in response.json()
    assert ReportShare.objects.count() == 0


def test_participants_get_403_and_other_organisations_404(org_b, in_org_a, participant, admin):
    report = Report.objects.create(start="2025-03-01", end="2025-03-31", language="en", status="done")
    client = api_client(participant)
    for path in (f"{V1}/reports/", f"{V1}/reports/{report.pk}/", f"{V1}/reports/{report.pk}/download/"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"{V1}/reports/", MARCH, content_type="application/json").status_code == 403
    assert (
        client.post(f"{V1}/reports/{report.pk}/share/", {}, content_type="application/json").status_code
        == 403
    )
    with tenant_context(org_b):
        other = api_client(
            UserFactory.create(email="boss@beta.test", role=ORG_ADMIN), host=f"beta.{settings.BASE_DOMAIN}"
        )
        for path in (f"{V1}/reports/{report.pk}/", f"{V1}/reports/{report.pk}/download/"):
            assert other.get(path).status_code == 404, path
        assert (
            other.post(f"{V1}/reports/{report.pk}/share/", {}, content_type="application/json").status_code
            == 404
        )
        assert other.get(f"{V1}/reports/").json()["results"] == []
    assert Report.objects.count() == 1
    assert ReportShare.objects.count() == 0
    assert ReportDownload.objects.count() == 0
