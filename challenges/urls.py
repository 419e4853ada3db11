"""Pages of the challenges app (HR / CSR manager pages)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
