"""Writes on organisations: provisioning, suspension, reactivation."""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tenants.utils import tenant_context

from tenants.models import Domain, Organization
from tenants.selectors import organization_host, organization_url
from tenants.validators import validate_slug


@dataclass
class Provisioning:
    """What each step of ORGANIZATION_SETUP receives: the new organisation (its schema is current),
    what was asked, and `outcome`, where a step leaves what the caller should see."""

    organization: Organization
    admin_email: str
    outcome: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProvisionedOrganization:
    organization: Organization
    url: str
    set_password_url: str


def organization_create_check(*, slug: str, name: str, kind: str, admin_email: str, locale: str) -> None:
    """Raise a ValidationError naming every bad field; touch nothing."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    try:
        validate_slug(slug)
    except ValidationError as exc:
        add("slug", exc.messages[0])
    else:
        if Organization.objects.filter(schema_name__iexact=slug).exists():
            add("slug", f"The slug “{slug}” is already taken.")
        elif Domain.objects.filter(domain=f"{slug}.{settings.BASE_DOMAIN}").exists():
            add("slug", f"The domain {slug}.{settings.BASE_DOMAIN} is already taken.")
    if not name.strip():
        add("name", "The organisation needs a name.")
    elif len(name) > 200:
        add("name", "The name must be at most 200 characters.")
    if kind not in Organization.Kind.values:
        add("kind", f"The kind must be one of {', '.join(Organization.Kind.values)}.")
    if locale not in Organization.Locale.values:
        add("locale", f"The locale must be one of {', '.join(Organization.Locale.values)}.")
    try:
        validate_email(admin_email)
    except ValidationError:
        add("admin_email", f"“{admin_email}” is not a valid e-mail address.")
    if errors:
        raise ValidationError(errors)


def organization_create(
    *,
    slug: str,
    name: str,
    kind: str,
    admin_email: str,
    locale: str = Organization.Locale.FRENCH,
    timezone_name: str = "Europe/Paris",
) -> ProvisionedOrganization:
    """Create an organisation: row, domain and schema, then the steps named in ORGANIZATION_SETUP, in
    order (the admin account, the metric library…), all in one transaction: all or nothing.

    Schema creation and migrations are DDL inside the same transaction, so a failure anywhere
    leaves no schema and no row behind. The steps are plain functions taking a Provisioning, called
    in plain sight: no signals.
    """
    organization_create_check(slug=slug, name=name, kind=kind, admin_email=admin_email, locale=locale)
    organization = Organization(
        schema_name=slug, name=name.strip(), kind=kind, locale=locale, timezone=timezone_name
    )
    organization.full_clean()
    try:
        with transaction.atomic():
            organization.save()
            Domain.objects.create(
                domain=organization_host(organization), tenant=organization, is_primary=True
            )
            organization.create_schema(check_if_exists=False, verbosity=0)
            provisioning = Provisioning(organization=organization, admin_email=admin_email)
            with tenant_context(organization):
                for step in settings.ORGANIZATION_SETUP:
                    import_string(step)(provisioning)
    except IntegrityError as exc:
        # Another provisioning took the slug or domain between the check and the insert.
        raise ValidationError({"slug": [f"The slug “{slug}” is already taken."]}) from exc
    return ProvisionedOrganization(
        organization=organization,
        url=organization_url(organization),
        set_password_url=organization_url(organization, provisioning.outcome.get("set_password_path", "/")),
    )


def organization_suspend(organization: Organization) -> None:
    """Close an organisation's site. Nothing is deleted."""
    Organization.objects.filter(pk=organization.pk, is_active=True).update(
        is_active=False, suspended_at=timezone.now()
    )
    organization.refresh_from_db(fields=["is_active", "suspended_at"])


def organization_reactivate(organization: Organization) -> None:
    Organization.objects.filter(pk=organization.pk).update(is_active=True, suspended_at=None)
    organization.refresh_from_db(fields=["is_active", "suspended_at"])
