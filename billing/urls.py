"""Billing's routes on the public host (config/urls_public.py includes them under billing/)."""

from django.urls import path

from billing import views

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
