from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.models import Domain, Organization, SignupRequest
from tenants.services import organization_reactivate, organization_suspend


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "schema_name",
        "kind",
        "locale",
        "plan",
        "billing_state",
        "is_active",
        "created_at",
    ]
    list_filter = ["kind", "plan", "billing_state", "is_active"]
    search_fields = ["name", "schema_name"]
    readonly_fields = ["schema_name", "created_at", "suspended_at"]
    inlines = [DomainInline]
    actions = ["suspend", "reactivate"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Organisations are created by provisioning (schema, domain, admin), never by a bare row.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Suspend the selected organisations (their data stays)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        for organization in queryset:
            organization_suspend(organization)
        self.message_user(request, f"{queryset.count()} organisation(s) suspended.", messages.SUCCESS)

    @admin.action(description="Reactivate the selected organisations")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        for organization in queryset:
            organization_reactivate(organization)
        self.message_user(request, f"{queryset.count()} organisation(s) reactivated.", messages.SUCCESS)


@admin.register(SignupRequest)
class SignupRequestAdmin(admin.ModelAdmin):
    """Self-service sign-ups, read-only: they change through their own pages and the provisioning."""

    list_display = ["organization_name", "slug", "kind", "email", "status", "failure", "created_at"]
    list_filter = ["status", "kind", "locale", "failure"]
    search_fields = ["organization_name", "slug", "email"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    exclude = ["key_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
