from typing import Any

from django.conf import settings
from django.urls import reverse

from core.notifications import Brand
from tenants.db import tenant_connection
from tenants.models import Organization


def site_url(host: str, path: str = "/") -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{host}{port}{path}"


def organization_host(organization: Organization) -> str:
    return f"{organization.schema_name}.{settings.BASE_DOMAIN}"


def organization_url(organization: Organization, path: str = "/") -> str:
    return site_url(organization_host(organization), path)


def organization_path(view_name: str, **kwargs: Any) -> str:
    """A path of an organisation's site, from anywhere (a task, provisioning from the public schema)."""
    return reverse(view_name, kwargs=kwargs or None, urlconf=settings.ROOT_URLCONF)


def current_organization() -> Organization:
    """The organisation whose schema this code runs in (a task, a command inside tenant_context),
    read now: the worker's cached copy may be up to CELERY_TASK_TENANT_CACHE_SECONDS old, and an
    e-mail must carry the name, colour and logo of this moment."""
    return Organization.objects.get(schema_name=tenant_connection().schema_name)


def organization_brand(organization: Organization) -> Brand:
    """The organisation's look for its e-mails: name, colour, logo."""
    logo = organization_url(organization, organization.logo_url) if organization.logo else ""
    return Brand(organization.name, organization.brand_color, logo, organization_url(organization))
