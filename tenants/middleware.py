"""Routing by host: the public site, an organisation's site, or nothing."""

import datetime as dt
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import set_urlconf
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from tenants.db import tenant_connection
from tenants.models import Domain

# Pages every host answers, even a suspended organisation's.
ALWAYS_SERVED_PATHS = frozenset({"/healthz", "/readyz"})


class OrganizationMiddleware:
    """Sets the schema and URL conf from the host, before anything else reads the database.

    The bare BASE_DOMAIN is the public site; `<slug>.<BASE_DOMAIN>` (or another domain row) is an
    organisation. An unknown host gets a plain 404 page, a suspended organisation a page saying so.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Leave the connection as it was found: a worker thread (or a test) goes on in its schema.
        connection = tenant_connection()
        previous = connection.tenant
        try:
            return self._route(request)
        finally:
            connection.set_tenant(previous)

    def _route(self, request: HttpRequest) -> HttpResponse:
        tenant_connection().set_schema_to_public()
        try:
            host = request.get_host().rsplit(":", 1)[0].lower()
        except DisallowedHost:
            return self._page(request, "tenants/unknown_host.html", status=404)

        # request.tenant is django-tenants' view of the schema (its admin templates read it: the
        # public schema on the public host); request.organization is the product's, None there.
        request.organization = None  # type: ignore[attr-defined]
        if host == settings.BASE_DOMAIN:
            request.tenant = tenant_connection().tenant  # type: ignore[attr-defined]
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
        request.tenant = request.organization = organization  # type: ignore[attr-defined]
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


class OrganizationLanguageMiddleware:
    """Speak the organisation's language unless the person chose the other one, in its time zone.

    On an organisation's site: the signed-in person's choice, else the language cookie set by the
    language switch, else the organisation's locale; dates typed in forms are read, and dates shown
    written, in the organisation's time zone. On the public site: the browser's languages, in UTC.
    Placed after the authentication middleware, in place of Django's LocaleMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = self._language(request)
        request.LANGUAGE_CODE = language
        # Like the schema, the language goes back to what it was: a thread that serves the next
        # request (or runs a task) does not inherit this person's language.
        organization = getattr(request, "organization", None)
        zone = zoneinfo.ZoneInfo(organization.timezone) if organization is not None else dt.UTC
        with translation.override(language), timezone.override(zone):
            response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response

    @staticmethod
    def _language(request: HttpRequest) -> str:
        organization = getattr(request, "organization", None)
        if organization is None:
            return translation.get_language_from_request(request)
        supported = {code for code, _ in settings.LANGUAGES}
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if chosen in supported:
            return str(chosen)
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if cookie in supported:
            return cookie
        return str(organization.locale)
