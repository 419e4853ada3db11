"""An organisation's site, plus a trivial page for the request benchmark."""

from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from tenants.db import tenant_connection


def ping(request: HttpRequest) -> HttpResponse:
    """The schema routed to, and one query inside it, so the search path really changes per host."""
    roles = Group.objects.count()
    return HttpResponse(f"{tenant_connection().schema_name} {roles}", content_type="text/plain")


urlpatterns = [
    path("bench/ping", ping, name="bench_ping"),
    path("", include("config.urls_tenants")),
]
