"""The billing page on an organisation's host (config/urls_tenants.py includes it)."""

from django.urls import URLPattern, path

from billing import views_manage

app_name = "billing"

urlpatterns: list[URLPattern] = [
    path("manage/billing/", views_manage.manage_billing, name="manage"),
    path("manage/billing/checkout/", views_manage.manage_billing_checkout, name="checkout"),
    path("manage/billing/portal/", views_manage.manage_billing_portal, name="portal"),
    path("manage/billing/municipality/", views_manage.manage_billing_municipality, name="municipality"),
]
