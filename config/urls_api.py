"""The organisation's API: /api/v1/, its OpenAPI schema and docs."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
