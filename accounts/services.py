"""Writes on people inside the current organisation's schema."""

from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.roles import ORG_ADMIN, ROLES, roles_sync
from tenants.background import enqueue_on_commit


def user_set_password_path(user: User) -> str:
    """A one-time path to set a password: the token dies once the password changes."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("password_set", kwargs={"uidb64": uidb64, "token": token}, urlconf="config.urls_tenants")


def organization_admin_create(*, email: str, display_name: str = "") -> str:
    """Create the roles and the first admin of a new organisation; return the set-password path.

    The admin is e-mailed the same link once the provisioning transaction commits.
    """
    from accounts.tasks import invitation_send

    groups = roles_sync()
    admin = User.objects.create_user(email=email, display_name=display_name)
    admin.set_unusable_password()
    admin.save(update_fields=["password"])
    admin.groups.add(groups[ORG_ADMIN])
    enqueue_on_commit(invitation_send, admin.pk)
    return user_set_password_path(admin)


def user_create(*, email: str, display_name: str = "", role: str, password: str | None = None) -> User:
    """Create a person of the current organisation with one role.

    The roles' groups exist since provisioning: syncing them on every new participant would rewrite
    their permissions thousands of times on a launch day.
    """
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")
    group = Group.objects.filter(name=role).first() or roles_sync()[role]
    user = User.objects.create_user(email=email, display_name=display_name, password=password)
    user.groups.add(group)
    return user
