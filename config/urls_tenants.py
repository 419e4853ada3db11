"""An organisation's site: <slug>.<BASE_DOMAIN>."""

from django.urls import include, path

import core.urls  # noqa: F401 - registers the <id:…> and <token:…> converters
from participants import views_handoff, views_pages
from tenants import views as tenant_views
from tenants import views_manage as tenant_pages

urlpatterns = [
    path("healthz", tenant_views.healthz, name="healthz"),
    path("readyz", tenant_views.readyz, name="readyz"),
    # The participant home; signed-out visitors see the organisation's public intro.
    path("", views_pages.home, name="home"),
    path("manage/organization/", tenant_pages.manage_settings, name="organization_settings"),
    path("branding/<str:name>", tenant_pages.organization_logo, name="organization_logo"),
    # Where self-service sign-up hands a new organisation's first admin over (participants/handoff.py).
    path("account/welcome/<token:secret>/", views_handoff.welcome, name="welcome"),
    path("", include("accounts.urls")),
    path("", include("challenges.urls")),
    path("", include("participants.urls")),
    path("", include("reports.urls")),
    path("", include("billing.urls_manage")),
    path("api/", include("config.urls_api")),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
