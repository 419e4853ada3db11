"""Pages of the reports app: the executives' impact dashboard, its CSV, the PDF reports and their
share links (the public one, /shared/reports/<token>/, opens without signing in)."""

from django.urls import URLPattern, path

import core.urls  # noqa: F401 - registers the <id:…> and <token:…> converters
from reports import views

app_name = "reports"

urlpatterns: list[URLPattern] = [
    path("manage/impact/", views.impact_dashboard, name="impact"),
    path("manage/impact/export.csv", views.impact_export, name="impact_export"),
    path("manage/impact/reports/", views.reports_page, name="reports"),
    path("manage/impact/reports/<id:report_id>/status/", views.report_status, name="report_status"),
    path("manage/impact/reports/<id:report_id>/download/", views.report_download, name="report_download"),
    path("manage/impact/reports/<id:report_id>/share/", views.report_share, name="report_share"),
    path("manage/impact/shares/<id:share_id>/revoke/", views.report_share_revoke_view, name="share_revoke"),
    path("shared/reports/<token:token>/", views.shared_report, name="shared_report"),
]
