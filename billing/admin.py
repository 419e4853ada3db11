"""Billing in the operators' admin (public host): read-only copies of Stripe's state, per
organisation, and the replay of stored webhook events. Changes go through Stripe, never here."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from billing.models import BillingAccount, Invoice, Purchase, StripeEvent, Subscription, UsageReport
from billing.services import stripe_event_replay


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by billing's services from Stripe's answers: read here, changed on Stripe."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyAdmin):
    list_display = ["organization", "plan", "billing_state", "stripe_customer_id", "grace_until"]
    list_filter = ["organization__plan", "organization__billing_state"]
    search_fields = ["organization__name", "organization__schema_name", "stripe_customer_id"]
    list_select_related = ["organization"]
    fields = readonly_fields = (
        "organization",
        "plan",
        "billing_state",
        "stripe_customer_id",
        "billing_email",
        "purchase_order_number",
        "grace_until",
        "subscriptions",
        "invoices",
        "recent_events",
        "created_at",
    )

    @admin.display(description=_("Plan"), ordering="organization__plan")
    def plan(self, account: BillingAccount) -> str:
        return account.organization.get_plan_display()

    @admin.display(description=_("Billing state"), ordering="organization__billing_state")
    def billing_state(self, account: BillingAccount) -> str:
        return account.organization.get_billing_state_display()

    @admin.display(description=_("Subscriptions"))
    def subscriptions(self, account: BillingAccount) -> str:
        rows = Subscription.objects.filter(organization_id=account.organization_id)[:20]
        return (
            format_html_join(
                "",
                "<p>{} · {} · {} · {}</p>",
                ((s.stripe_id, s.plan or "—", s.status, s.current_period_end or "—") for s in rows),
            )
            or "—"
        )

    @admin.display(description=_("Invoices"))
    def invoices(self, account: BillingAccount) -> str:
        rows = Invoice.objects.filter(organization_id=account.organization_id)[:20]
        return (
            format_html_join(
                "",
                '<p><a href="{}" rel="noopener">{}</a> · {} · {} {}</p>',
                (
                    (
                        i.hosted_invoice_url or "#",
                        i.number or i.stripe_id,
                        i.status,
                        i.total / 100,
                        i.currency.upper(),
                    )
                    for i in rows
                ),
            )
            or "—"
        )

    @admin.display(description=_("Recent events"))
    def recent_events(self, account: BillingAccount) -> str:
        rows = StripeEvent.objects.filter(organization_id=account.organization_id)[:20]
        return (
            format_html_join(
                "",
                "<p>{} · {} · {}</p>",
                ((e.created, e.type, e.processed_at or _("not processed")) for e in rows),
            )
            or "—"
        )


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "organization", "plan", "status", "collection_method", "current_period_end"]
    list_filter = ["plan", "status", "collection_method"]
    search_fields = ["stripe_id", "stripe_customer_id", "organization__schema_name", "organization__name"]
    list_select_related = ["organization"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "organization", "status", "total_display", "created", "due_date", "link"]
    list_filter = ["status", "collection_method"]
    search_fields = ["stripe_id", "number", "organization__schema_name", "organization__name"]
    list_select_related = ["organization"]

    @admin.display(description=_("Total"), ordering="total")
    def total_display(self, invoice: Invoice) -> str:
        return f"{invoice.total / 100:.2f} {invoice.currency.upper()}"

    @admin.display(description=_("Invoice"))
    def link(self, invoice: Invoice) -> str:
        if not invoice.hosted_invoice_url:
            return "—"
        return format_html('<a href="{}" rel="noopener">{}</a>', invoice.hosted_invoice_url, _("Open"))


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ["service", "organization", "status", "amount_total", "currency", "created_at", "paid_at"]
    list_filter = ["service", "status"]
    search_fields = ["checkout_session_id", "organization__schema_name", "organization__name"]
    list_select_related = ["organization"]


@admin.register(UsageReport)
class UsageReportAdmin(ReadOnlyAdmin):
    list_display = ["identifier", "organization", "value", "timestamp", "final", "refused_as_duplicate"]
    list_filter = ["final", "refused_as_duplicate"]
    search_fields = ["identifier", "organization__schema_name"]
    list_select_related = ["organization"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "type", "organization", "created", "received_at", "processed_at", "attempts"]
    list_filter = ["type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["stripe_id", "object_id", "organization__schema_name"]
    list_select_related = ["organization"]
    actions = ["replay"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The change permission is the replay's; the event itself stays read-only (no field editable).
        return obj is None and bool(request.user.has_perm("billing.change_stripeevent"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in StripeEvent._meta.fields]

    @admin.action(description=_("Replay the selected events (apply Stripe's current state again)"))
    def replay(self, request: HttpRequest, queryset: QuerySet[StripeEvent]) -> None:
        count = stripe_event_replay(request.user, queryset)
        message = ngettext("%(count)d event queued for replay.", "%(count)d events queued for replay.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)
