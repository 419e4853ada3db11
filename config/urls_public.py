"""The public site: the bare BASE_DOMAIN (landing page, operator admin, liveness and readiness)."""

from django.contrib import admin
from django.urls import include, path

from tenants import views

admin.site.site_header = "Crowdact operators"
admin.site.site_title = "Crowdact operators"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("billing/", include("billing.urls")),  # Stripe's webhook: /billing/stripe/webhook/
    path("signup/", include("tenants.urls_signup")),  # self-service sign-up (tenants/signup.py)
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
