from django.conf import settings

from tenants.models import Organization


def site_url(host: str, path: str = "/") -> str:
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT else ""
    return f"{settings.SITE_SCHEME}://{host}{port}{path}"


def organization_host(organization: Organization) -> str:
    return f"{organization.schema_name}.{settings.BASE_DOMAIN}"


def organization_url(organization: Organization, path: str = "/") -> str:
    return site_url(organization_host(organization), path)
