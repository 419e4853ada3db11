from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Platform operators, in the public schema (the only place the Django admin is served).

    Accounts are deactivated, never deleted: deleting would follow the user's relations into tables
    that exist only in organisations' schemas.
    """

    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "display_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name",)}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined", "invitation_sent_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
