"""The sign-up pages of the public site, under /signup/. No path parameter: the confirmation secret
comes as ?key=, and the progress page belongs to the session that confirmed."""

from django.urls import URLPattern, path

from tenants import views_signup as views

app_name = "signup"

urlpatterns: list[URLPattern] = [
    path("", views.signup_form, name="form"),
    path("sent/", views.signup_sent, name="sent"),
    path("confirm/", views.signup_confirm, name="confirm"),
    path("progress/", views.signup_progress, name="progress"),
    path("progress/retry/", views.signup_retry, name="retry"),
]
