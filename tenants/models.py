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


class SignupRequest(models.Model):
    """A self-service sign-up on the public site, from the form to the organisation it becomes.

    Lives in the public schema. Only the SHA-256 of the confirmation secret is kept. While a sign-up
    is pending (unexpired), confirmed or being provisioned, it holds its slug: the partial unique
    constraint makes two sign-ups for one address impossible, whatever their timing.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the address to be confirmed"
        CONFIRMED = "confirmed", "Confirmed, waiting to be provisioned"
        PROVISIONING = "provisioning", "Being provisioned"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired without confirmation"

    class Step(models.TextChoices):
        SPACE = "space", "Creating the space"
        LIBRARY = "library", "Setting up the challenge library"
        READY = "ready", "Ready"

    class Failure(models.TextChoices):
        SLUG_TAKEN = "slug_taken", "The slug was taken in the meantime"
        ERROR = "error", "Provisioning failed"

    # The statuses in which a sign-up holds its slug (a pending one only until it expires).
    HOLDS_SLUG = (Status.PENDING, Status.CONFIRMED, Status.PROVISIONING)

    email = models.EmailField()
    person_name = models.CharField(max_length=150)
    organization_name = models.CharField(max_length=200)
    slug = models.CharField(max_length=63)
    kind = models.CharField(max_length=20, choices=Organization.Kind.choices)
    locale = models.CharField(max_length=2, choices=Organization.Locale.choices)
    language = models.CharField(max_length=2, help_text="The language of the pages it was made in.")
    key_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    step = models.CharField(max_length=20, choices=Step.choices, blank=True)
    failure = models.CharField(max_length=20, choices=Failure.choices, blank=True)
    error = models.TextField(blank=True, help_text="What went wrong, for operators.")
    attempts = models.PositiveSmallIntegerField(default=0)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client = models.CharField(max_length=64, blank=True, help_text="The client address it came from.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="The confirmation link works until then.")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "sign-up"
        constraints = [
            models.UniqueConstraint(
                fields=["slug"],
                condition=models.Q(status__in=["pending", "confirmed", "provisioning"]),
                name="signup_slug_held",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_name} ({self.slug})"
