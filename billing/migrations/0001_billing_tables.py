# Billing's tables, in the public schema (billing is a shared app). Schema only: the rows for
# organisations that existed before billing come in 0002.

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("tenants", "0003_brand_colour_contrast"),
    ]

    operations = [
        migrations.CreateModel(
            name="Invoice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stripe_id", models.CharField(max_length=255, unique=True)),
                ("subscription_stripe_id", models.CharField(blank=True, max_length=255)),
                ("number", models.CharField(blank=True, max_length=100)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("open", "Open"),
                            ("paid", "Paid"),
                            ("uncollectible", "Uncollectible"),
                            ("void", "Void"),
                        ],
                        max_length=20,
                    ),
                ),
                ("collection_method", models.CharField(blank=True, max_length=30)),
                ("currency", models.CharField(max_length=3)),
                ("amount_due", models.BigIntegerField(default=0, help_text="In cents.")),
                ("amount_paid", models.BigIntegerField(default=0)),
                ("amount_remaining", models.BigIntegerField(default=0)),
                ("total", models.BigIntegerField(default=0)),
                ("attempt_count", models.PositiveIntegerField(default=0)),
                (
                    "custom_fields",
                    models.JSONField(
                        blank=True, default=list, help_text="Such as the purchase-order number."
                    ),
                ),
                ("hosted_invoice_url", models.URLField(blank=True, max_length=2000)),
                ("invoice_pdf", models.URLField(blank=True, max_length=2000)),
                ("period_start", models.DateTimeField(blank=True, null=True)),
                ("period_end", models.DateTimeField(blank=True, null=True)),
                ("created", models.DateTimeField(help_text="When Stripe created it.")),
                ("finalized_at", models.DateTimeField(blank=True, null=True)),
                ("due_date", models.DateTimeField(blank=True, null=True)),
                ("paid_at", models.DateTimeField(blank=True, null=True)),
                (
                    "stripe_updated",
                    models.DateTimeField(
                        help_text="When this copy was read from Stripe (the version guard)."
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="invoices",
                        to="tenants.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["-created", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="Purchase",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "service",
                    models.CharField(
                        help_text="The service's key in billing/catalogue.toml.", max_length=100
                    ),
                ),
                ("checkout_session_id", models.CharField(max_length=255, unique=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Checkout started"),
                            ("paid", "Paid"),
                            ("expired", "Checkout expired"),
                        ],
                        default="open",
                        max_length=20,
                    ),
                ),
                ("amount_total", models.BigIntegerField(default=0, help_text="In cents.")),
                ("currency", models.CharField(blank=True, max_length=3)),
                ("stripe_invoice_id", models.CharField(blank=True, max_length=255)),
                (
                    "bought_by",
                    models.CharField(blank=True, help_text="Who started the Checkout.", max_length=254),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("paid_at", models.DateTimeField(blank=True, null=True)),
                ("stripe_updated", models.DateTimeField(blank=True, null=True)),
                (
                    "invoice",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="purchases",
                        to="billing.invoice",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="purchases",
                        to="tenants.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="StripeEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stripe_id", models.CharField(max_length=255, unique=True)),
                ("type", models.CharField(max_length=100)),
                ("object_id", models.CharField(blank=True, help_text="data.object.id", max_length=255)),
                (
                    "created",
                    models.DateTimeField(help_text="When Stripe created the event (1 s resolution)."),
                ),
                ("livemode", models.BooleanField(default=False)),
                ("payload", models.JSONField()),
                ("received_at", models.DateTimeField(auto_now_add=True)),
                ("processed_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True)),
                (
                    "organization",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="stripe_events",
                        to="tenants.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["-created", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="Subscription",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stripe_id", models.CharField(max_length=255, unique=True)),
                ("stripe_customer_id", models.CharField(blank=True, max_length=255)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("incomplete", "Incomplete"),
                            ("incomplete_expired", "Incomplete, expired"),
                            ("trialing", "Trialing"),
                            ("active", "Active"),
                            ("past_due", "Past due"),
                            ("unpaid", "Unpaid"),
                            ("canceled", "Canceled"),
                            ("paused", "Paused"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "plan",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("discovery", "Discovery"),
                            ("business", "Business"),
                            ("municipality", "Municipality"),
                        ],
                        help_text="From its prices' lookup keys; blank when they are none of the catalogue's plans.",
                        max_length=20,
                    ),
                ),
                ("collection_method", models.CharField(blank=True, max_length=30)),
                (
                    "price_lookup_keys",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.CharField(max_length=200), blank=True, default=list, size=None
                    ),
                ),
                ("current_period_start", models.DateTimeField(blank=True, null=True)),
                ("current_period_end", models.DateTimeField(blank=True, null=True)),
                ("cancel_at_period_end", models.BooleanField(default=False)),
                ("canceled_at", models.DateTimeField(blank=True, null=True)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("latest_invoice_id", models.CharField(blank=True, max_length=255)),
                ("stripe_created", models.DateTimeField()),
                (
                    "stripe_updated",
                    models.DateTimeField(
                        help_text="When this copy was read from Stripe (the version guard)."
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="subscriptions",
                        to="tenants.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["-stripe_created"],
            },
        ),
        migrations.CreateModel(
            name="UsageReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("subscription_stripe_id", models.CharField(max_length=255)),
                ("period_start", models.DateTimeField()),
                ("period_end", models.DateTimeField()),
                ("value", models.PositiveIntegerField()),
                ("identifier", models.CharField(max_length=100, unique=True)),
                ("timestamp", models.DateTimeField(help_text="The event's time, inside the period.")),
                (
                    "final",
                    models.BooleanField(
                        default=False, help_text="The count of the whole period, sent after its end."
                    ),
                ),
                ("sent_at", models.DateTimeField(auto_now_add=True)),
                (
                    "refused_as_duplicate",
                    models.BooleanField(
                        default=False,
                        help_text="Stripe already had this identifier: sent before, nothing changed.",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="usage_reports",
                        to="tenants.organization",
                    ),
                ),
            ],
            options={
                "ordering": ["-timestamp", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="BillingAccount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stripe_customer_id", models.CharField(blank=True, max_length=255)),
                (
                    "billing_email",
                    models.EmailField(
                        blank=True, help_text="Where Stripe sends invoices and receipts.", max_length=254
                    ),
                ),
                ("purchase_order_number", models.CharField(blank=True, max_length=100)),
                (
                    "grace_until",
                    models.DateTimeField(
                        blank=True,
                        help_text="A failed payment's grace period ends then; then read-only.",
                        null=True,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="billing_account",
                        to="tenants.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("stripe_customer_id", ""), _negated=True),
                        fields=("stripe_customer_id",),
                        name="billing_account_one_per_customer",
                    )
                ],
            },
        ),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["organization", "-created"], name="billing_invoice_org_created"),
        ),
        migrations.AddIndex(
            model_name="purchase",
            index=models.Index(fields=["organization", "status"], name="billing_purchase_org_status"),
        ),
        migrations.AddIndex(
            model_name="stripeevent",
            index=models.Index(fields=["object_id"], name="billing_event_object"),
        ),
        migrations.AddIndex(
            model_name="stripeevent",
            index=models.Index(fields=["organization", "-created"], name="billing_event_org_created"),
        ),
        migrations.AddIndex(
            model_name="stripeevent",
            index=models.Index(
                condition=models.Q(("processed_at__isnull", True)),
                fields=["received_at"],
                name="billing_event_pending",
            ),
        ),
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(fields=["organization", "status"], name="billing_sub_org_status"),
        ),
        migrations.AddIndex(
            model_name="usagereport",
            index=models.Index(fields=["organization", "period_start"], name="billing_usage_org_period"),
        ),
    ]
