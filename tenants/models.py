import zoneinfo

from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django_tenants.models import DomainMixin, TenantMixin

from tenants.validators import validate_brand_colour, validate_slug


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(zone)s” is not a known time zone (for example Europe/Paris).") % {"zone": value}
        )


def logo_upload_to(instance: "Organization", filename: str) -> str:
    # The storage already puts files under the current organisation's folder.
    return f"branding/{filename}"


class Organization(TenantMixin):
    """An organisation using Crowdact: a tenant with its own schema and subdomain."""

    class Kind(models.TextChoices):
        COMPANY = "company", "Company"
        MUNICIPALITY = "municipality", "Municipality"
        ASSOCIATION = "association", "Association"

    class Locale(models.TextChoices):
        FRENCH = "fr", "Français"
        ENGLISH = "en", "English"

    class Plan(models.TextChoices):
        DISCOVERY = "discovery", "Discovery"
        BUSINESS = "business", "Business"
        MUNICIPALITY = "municipality", "Municipality"

    class BillingState(models.TextChoices):
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Payment failed, in grace period"
        READ_ONLY = "read_only", "Read-only (unpaid)"
        CANCELED = "canceled", "Cancelled"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    locale = models.CharField(max_length=2, choices=Locale.choices, default=Locale.FRENCH)
    timezone = models.CharField(max_length=64, default="Europe/Paris", validators=[validate_timezone])
    brand_color = models.CharField(max_length=7, default="#1F6F5C", validators=[validate_brand_colour])
    logo = models.FileField(upload_to=logo_upload_to, blank=True)
    allowed_email_domains = ArrayField(
        models.CharField(max_length=253),
        default=list,
        blank=True,
        help_text="Participants of a company must sign in with an address at one of these domains.",
    )
    embed_origins = ArrayField(
        models.URLField(max_length=200),
        default=list,
        blank=True,
        help_text="Intranet origins allowed to frame the challenge widget, e.g. https://intranet.acme.example",
    )
    headcount = models.PositiveIntegerField(
        null=True, blank=True, help_text="Employees or residents, for participation rates."
    )
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.DISCOVERY)
    billing_state = models.CharField(max_length=20, choices=BillingState.choices, default=BillingState.ACTIVE)
    is_active = models.BooleanField(
        default=True, help_text="A suspended organisation is closed; its data stays."
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Provisioning creates the schema itself, inside its own transaction (tenants.services).
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def slug(self) -> str:
        return self.schema_name

    @property
    def logo_url(self) -> str:
        """The logo's path on the organisation's own host ("" without one)."""
        return f"/branding/{self.logo_filename}" if self.logo else ""

    @property
    def logo_filename(self) -> str:
        """The stored logo's file name (its content's hash), the last part of its URL."""
        return (self.logo.name or "").rsplit("/", 1)[-1]

    def clean_fields(self, exclude: object = None) -> None:
        super().clean_fields(exclude=exclude)
        validate_slug(self.schema_name)


class Domain(DomainMixin):
    """A host name served for an organisation (<slug>.<BASE_DOMAIN>, or a custom domain later)."""

    def __str__(self) -> str:
        return self.domain
