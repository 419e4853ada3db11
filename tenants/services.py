"""Writes on organisations: provisioning, suspension, reactivation."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django_tenants.utils import tenant_context

from core.audit import audit_record, changes_between
from core.permissions import MANAGE, require
from tenants.branding import logo_prepare
from tenants.models import Domain, Organization
from tenants.selectors import organization_host, organization_url
from tenants.validators import email_domains_clean, embed_origins_clean, validate_slug


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


# Settings ------------------------------------------------------------------------------------------

SETTINGS_FIELDS = (
    "name", "locale", "timezone", "headcount", "allowed_email_domains", "embed_origins", "brand_color",
)  # fmt: skip
MAX_HEADCOUNT = 10_000_000


def _settings_errors(organization: Organization, fields: Mapping[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, clean in (
        ("allowed_email_domains", email_domains_clean),
        ("embed_origins", embed_origins_clean),
    ):
        if name in fields:
            try:
                setattr(organization, name, clean(list(fields[name])))
            except ValidationError as error:
                errors[name] = error.messages
    name = str(fields.get("name", organization.name)).strip()
    if not name:
        errors["name"] = [gettext("The organisation needs a name.")]
    headcount = fields.get("headcount", organization.headcount)
    if headcount is not None and not 1 <= int(headcount) <= MAX_HEADCOUNT:
        errors["headcount"] = [gettext("Give the number of employees or residents, from 1 to 10,000,000.")]
    for key in ("name", "locale", "timezone", "headcount", "brand_color"):
        if key in fields and key not in errors:
            setattr(organization, key, name if key == "name" else fields[key])
    try:
        organization.full_clean(exclude=["schema_name", "logo", "plan", "billing_state"])
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    return errors


def organization_settings_update(
    *,
    actor: Any,
    organization: Organization,
    fields: Mapping[str, Any],
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
) -> Organization:
    """Change an organisation's settings (admins): each field checked, all or nothing, recorded in
    the audit trail with its old and new value. The logo is decoded and re-encoded (tenants.branding)."""
    require(actor, MANAGE)
    with transaction.atomic():
        current = Organization.objects.select_for_update().get(pk=organization.pk)
        before = {key: getattr(current, key) for key in SETTINGS_FIELDS} | {"logo": current.logo.name}
        candidate = Organization.objects.get(pk=organization.pk)
        errors = _settings_errors(
            candidate, {key: value for key, value in fields.items() if key in SETTINGS_FIELDS}
        )
        prepared = None
        if logo is not None:
            try:
                prepared = logo_prepare(logo)
            except ValidationError as error:
                errors.update(error.message_dict)
        if errors:
            raise ValidationError(errors)
        old_logo = current.logo.name
        if prepared is not None:
            path = candidate.logo.field.generate_filename(candidate, prepared.name)
            if candidate.logo.storage.exists(path):
                candidate.logo.name = path  # named after its content: that file is this logo
            else:
                candidate.logo.save(prepared.name, prepared.content, save=False)
        elif remove_logo:
            candidate.logo = ""
        candidate.save()
        after = {key: getattr(candidate, key) for key in SETTINGS_FIELDS} | {"logo": candidate.logo.name}
        changes = changes_between(before, after)
        if changes:
            audit_record("settings_changed", actor=actor, target=candidate.name, changes=changes)
        if old_logo and old_logo != candidate.logo.name:
            storage = candidate.logo.storage
            transaction.on_commit(lambda: storage.delete(old_logo))
    for key in (*SETTINGS_FIELDS, "logo"):
        setattr(organization, key, getattr(candidate, key))
    return organization
