"""Who may do what: the organisation's permissions by name, and the one check every write makes.

The roles that hold them are declared in accounts/roles.py; these are plain names, so that every
layer can check them without importing the one that defines them.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

MANAGE = "accounts.manage_organization"  # admins: branding, people, teams, challenges
VIEW_DASHBOARD = "accounts.view_dashboard"  # admins and executives: dashboards, reports
VIEW_PEOPLE = "accounts.view_user"


def can_manage(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(MANAGE))


def can_read_all(user: Any) -> bool:
    """Admins and executives read everything of the organisation; participants read their own."""
    return bool(user and user.is_authenticated and (user.has_perm(VIEW_DASHBOARD) or user.has_perm(MANAGE)))


def require(actor: Any, permission: str | None, message: str | None = None) -> None:
    """PermissionDenied unless `actor` holds `permission` (None: anyone signed in may)."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(message or gettext("Sign in first."))
    if permission and not actor.has_perm(permission):
        raise PermissionDenied(message or gettext("Only an organisation admin can do this."))
