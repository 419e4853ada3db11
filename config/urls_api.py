"""The organisation's API: /api/v1/, its OpenAPI schema and docs.

Plain path() routes, no router: no regex or format-suffix patterns, so the isolation walk
(tests/test_isolation.py) covers every endpoint.
"""

from csp.decorators import csp_replace
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import core.urls  # noqa: F401 - registers the <id:…> and <token:…> converters
from accounts.api import ApiTokenListCreateApi, ApiTokenRevokeApi, AuditListApi
from challenges import api
from participants.api import PeopleApi, PersonApi
from reports.api import (
    ImpactApi,
    ImpactExportApi,
    ReportDetailApi,
    ReportDownloadApi,
    ReportListCreateApi,
    ReportShareApi,
)
from tenants.api import OrganizationApi

CHALLENGE = "challenges/<id:challenge_id>/"

# drf-spectacular's Swagger page starts from an inline <script> that holds the CSRF token (so no hash
# can allow it, and its template takes no nonce) beside an inline <style>. This page alone allows inline
# code; it shows no data of its own and is still never framed.
docs_policy = csp_replace(
    {"script-src": ["'self'", "'unsafe-inline'"], "style-src": ["'self'", "'unsafe-inline'"]}
)

v1 = [
    path("teams/", api.TeamListCreateApi.as_view(), name="team-list"),
    path("teams/<id:team_id>/", api.TeamDetailApi.as_view(), name="team-detail"),
    path("metrics/", api.MetricListCreateApi.as_view(), name="metric-list"),
    path("impact-factors/", api.ImpactFactorListApi.as_view(), name="impact-factor-list"),
    path("challenges/", api.ChallengeListCreateApi.as_view(), name="challenge-list"),
    path(CHALLENGE, api.ChallengeDetailApi.as_view(), name="challenge-detail"),
    path(CHALLENGE + "publish/", api.ChallengePublishApi.as_view(), name="challenge-publish"),
    path(CHALLENGE + "cancel/", api.ChallengeCancelApi.as_view(), name="challenge-cancel"),
    path(CHALLENGE + "counterpart/deliver/", api.CounterpartDeliverApi.as_view(), name="counterpart-deliver"),
    path(CHALLENGE + "events/", api.ChallengeEventListApi.as_view(), name="challenge-events"),
    path(CHALLENGE + "pledge/", api.PledgeCreateApi.as_view(), name="pledge-create"),
    path(CHALLENGE + "withdraw/", api.PledgeWithdrawApi.as_view(), name="pledge-withdraw"),
    path(CHALLENGE + "confirm/", api.PledgeConfirmApi.as_view(), name="pledge-confirm"),
    path("pledges/", api.PledgeListApi.as_view(), name="pledge-list"),
    path("contributions/", api.ContributionListCreateApi.as_view(), name="contribution-list"),
    path("tokens/", ApiTokenListCreateApi.as_view(), name="api-token-list"),
    path("tokens/<id:token_id>/revoke/", ApiTokenRevokeApi.as_view(), name="api-token-revoke"),
    path("organization/", OrganizationApi.as_view(), name="organization"),
    path("people/", PeopleApi.as_view(), name="person-list"),
    path("people/<id:person_id>/", PersonApi.as_view(), name="person-detail"),
    path("audit/", AuditListApi.as_view(), name="audit-list"),
    path("impact/", ImpactApi.as_view(), name="impact"),
    path("impact/export.csv", ImpactExportApi.as_view(), name="impact-export"),
    path("reports/", ReportListCreateApi.as_view(), name="report-list"),
    path("reports/<id:report_id>/", ReportDetailApi.as_view(), name="report-detail"),
    path("reports/<id:report_id>/download/", ReportDownloadApi.as_view(), name="report-download"),
    path("reports/<id:report_id>/share/", ReportShareApi.as_view(), name="report-share"),
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", docs_policy(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
]
