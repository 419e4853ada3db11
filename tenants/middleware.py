"""Routing by host: the public site, an organisation's site, or nothing."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import set_urlconf

from tenants.db import tenant_connection
from tenants.models import Domain

# Pages every host answers, even a suspended organisation's.
ALWAYS_SERVED_PATHS = frozenset({"/healthz"})


class OrganizationMiddleware:
    """Sets the schema and URL conf from the host, before anything else reads the database.

    The bare BASE_DOMAIN is the public site; `<slug>.<BASE_DOMAIN>` (or another domain row) is an
    organisation. An unknown host gets a plain 404 page, a suspended organisation a page saying so.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant_connection().set_schema_to_public()
        try:
            host = request.get_host().rsplit(":", 1)[0].lower()
        except DisallowedHost:
            return self._page(request, "tenants/unknown_host.html", status=404)

        request.tenant = None  # type: ignore[attr-defined]
        if host == settings.BASE_DOMAIN:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return self.get_response(request)

        domain = Domain.objects.select_related("tenant").filter(domain=host).first()
        if domain is None:
            return self._page(request, "tenants/unknown_host.html", status=404)
        organization = domain.tenant
        if not organization.is_active and request.path not in ALWAYS_SERVED_PATHS:
            return self._page(
                request, "tenants/suspended.html", status=403, context={"organization": organization}
            )
        organization.domain_url = host
        request.tenant = organization  # type: ignore[attr-defined]
        tenant_connection().set_tenant(organization)
        request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        return self.get_response(request)

    @staticmethod
    def _page(
        request: HttpRequest, template: str, *, status: int, context: dict[str, object] | None = None
    ) -> HttpResponse:
        # Rendered without the request: nothing here may depend on a session or an organisation.
        return HttpResponse(render_to_string(template, context or {}), status=status)
