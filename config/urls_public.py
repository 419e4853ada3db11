"""The public site: the bare BASE_DOMAIN (landing page, operator admin, health)."""

from django.contrib import admin
from django.urls import path

from tenants import views

admin.site.site_header = "Crowdact operators"
admin.site.site_title = "Crowdact operators"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
