"""Billing's tables, in the public schema: a narrow copy of what Stripe holds about each organisation.

Stripe is the truth; these rows are what was last read from it. Each synced row carries
`stripe_updated`, the moment it was read from Stripe: a read older than the row is never applied
(billing.services.sync), so a slow worker with a stale copy cannot overwrite a newer one.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from tenants.models import Organization


class BillingAccount(models.Model):
    """One per organisation, made at provisioning; its Stripe customer is made in the background."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="billing_account"
    )
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    billing_email = models.EmailField(blank=True, help_text="Where Stripe sends invoices and receipts.")
    purchase_order_number = models.CharField(max_length=100, blank=True)
    grace_until = models.DateTimeField(
        null=True, blank=True, help_text="A failed payment's grace period ends then; then read-only."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~Q(stripe_customer_id=""),
                name="billing_account_one_per_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization} ({self.stripe_customer_id or 'no Stripe customer yet'})"


class Subscription(models.Model):
    """A Stripe subscription of an organisation (made by its Checkout, the Municipality set-up, or
    by someone in Stripe's dashboard)."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        UNPAID = "unpaid", "Unpaid"
        CANCELED = "canceled", "Canceled"
        PAUSED = "paused", "Paused"

    stripe_id = models.CharField(max_length=255, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="subscriptions")
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    plan = models.CharField(
        max_length=20,
        choices=Organization.Plan.choices,
        blank=True,
        help_text="From its prices' lookup keys; blank when they are none of the catalogue's plans.",
    )
    collection_method = models.CharField(max_length=30, blank=True)
    price_lookup_keys = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    # From the subscription's items: the API version Crowdact pins has them there, not on the subscription.
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    latest_invoice_id = models.CharField(max_length=255, blank=True)
    stripe_created = models.DateTimeField()
    stripe_updated = models.DateTimeField(
        help_text="When this copy was read from Stripe (the version guard)."
    )

    class Meta:
        ordering = ["-stripe_created"]
        indexes = [models.Index(fields=["organization", "status"], name="billing_sub_org_status")]

    def __str__(self) -> str:
        return f"{self.stripe_id} ({self.plan or 'other'}, {self.status})"

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES


# A subscription that gives its plan: paying, or late paying (the grace period then read-only).
LIVE_STATUSES = (
    Subscription.Status.TRIALING,
    Subscription.Status.ACTIVE,
    Subscription.Status.PAST_DUE,
    Subscription.Status.UNPAID,
)


class Invoice(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"
        VOID = "void", "Void"

    stripe_id = models.CharField(max_length=255, unique=True)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invoices")
    subscription_stripe_id = models.CharField(max_length=255, blank=True)
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    collection_method = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=3)
    amount_due = models.BigIntegerField(default=0, help_text="In cents.")
    amount_paid = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    attempt_count = models.PositiveIntegerField(default=0)
    custom_fields = models.JSONField(default=list, blank=True, help_text="Such as the purchase-order number.")
    hosted_invoice_url = models.URLField(max_length=2000, blank=True)
    invoice_pdf = models.URLField(max_length=2000, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(help_text="When Stripe created it.")
    finalized_at = models.DateTimeField(null=True, blank=True)
    due_date = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    stripe_updated = models.DateTimeField(
        help_text="When this copy was read from Stripe (the version guard)."
    )

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["organization", "-created"], name="billing_invoice_org_created")]

    def __str__(self) -> str:
        return self.number or self.stripe_id


class Purchase(models.Model):
    """A paid service bought once, through a Checkout Session in payment mode (with an invoice)."""

    class Status(models.TextChoices):
        OPEN = "open", "Checkout started"
        PAID = "paid", "Paid"
        EXPIRED = "expired", "Checkout expired"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="purchases")
    service = models.CharField(max_length=100, help_text="The service's key in billing/catalogue.toml.")
    checkout_session_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    amount_total = models.BigIntegerField(default=0, help_text="In cents.")
    currency = models.CharField(max_length=3, blank=True)
    stripe_invoice_id = models.CharField(max_length=255, blank=True)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="purchases"
    )
    bought_by = models.CharField(max_length=254, blank=True, help_text="Who started the Checkout.")
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    stripe_updated = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "status"], name="billing_purchase_org_status")]

    def __str__(self) -> str:
        return f"{self.service} ({self.status})"


class StripeEvent(models.Model):
    """A webhook event as received, stored under its unique id before any work is queued: a second
    delivery of the same event finds the row and changes nothing."""

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True, help_text="data.object.id")
    created = models.DateTimeField(help_text="When Stripe created the event (1 s resolution).")
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_events"
    )

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [
            models.Index(fields=["object_id"], name="billing_event_object"),
            models.Index(fields=["organization", "-created"], name="billing_event_org_created"),
            models.Index(
                fields=["received_at"], condition=Q(processed_at__isnull=True), name="billing_event_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


class UsageReport(models.Model):
    """A meter event sent for an organisation: the active participants of a billing period so far.
    The identifier makes a resend harmless (Stripe refuses a second event with it)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="usage_reports")
    subscription_stripe_id = models.CharField(max_length=255)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    value = models.PositiveIntegerField()
    identifier = models.CharField(max_length=100, unique=True)
    timestamp = models.DateTimeField(help_text="The event's time, inside the period.")
    final = models.BooleanField(default=False, help_text="The count of the whole period, sent after its end.")
    sent_at = models.DateTimeField(auto_now_add=True)
    refused_as_duplicate = models.BooleanField(
        default=False, help_text="Stripe already had this identifier: sent before, nothing changed."
    )

    class Meta:
        ordering = ["-timestamp", "-pk"]
        indexes = [models.Index(fields=["organization", "period_start"], name="billing_usage_org_period")]

    def __str__(self) -> str:
        return self.identifier
