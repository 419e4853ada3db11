"""Writes on people inside the current organisation's schema."""

from importlib import import_module
from uuid import uuid4

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from accounts.models import ApiToken, Notification, User
from accounts.roles import ORG_ADMIN, ROLES, roles_sync
from core.db import atomic_with_retry
from core.notifications import Recipient, message_from_template, send_once
from tenants.background import enqueue_on_commit
from tenants.models import Organization
from tenants.selectors import organization_brand, organization_path, organization_url
from tenants.services import Provisioning

INVITATION_TASK = "accounts.tasks.invitation_send"


def user_set_password_path(user: User) -> str:
    """A one-time path to set a password: the token dies once the password changes."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return organization_path("password_set", uidb64=uidb64, token=default_token_generator.make_token(user))


def organization_admin_setup(provisioning: Provisioning) -> None:
    """Provisioning step (ORGANIZATION_SETUP): the roles and the first admin of a new organisation.

    The admin is e-mailed a link to set a password once the provisioning transaction commits; the
    same link is handed back to whoever provisioned (the command prints it).
    """
    groups = roles_sync()
    admin = User.objects.create_user(email=provisioning.admin_email)
    admin.set_unusable_password()
    admin.save(update_fields=["password"])
    admin.groups.add(groups[ORG_ADMIN])
    enqueue_on_commit(INVITATION_TASK, admin.pk)
    provisioning.outcome["set_password_path"] = user_set_password_path(admin)


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


def invitation_send(*, organization: Organization, user_id: int) -> bool:
    """E-mail an organisation admin the link to set a password, at most once."""
    user = User.objects.filter(pk=user_id, is_active=True, erased_at__isnull=True).first()
    if user is None:
        return False
    language = user.language or organization.locale
    link = organization_url(organization, user_set_password_path(user))

    def render(row: Notification) -> EmailMessage:
        names = {"name": organization.name, "link": link, "url": organization_url(organization)}
        body = (
            gettext("Your Crowdact space for %(name)s") % names
            + "\n"
            + gettext(
                "Hello,\n\nA Crowdact space has been opened for %(name)s.\n"
                "Set your password here (the link works once): %(link)s\n\n"
                "Then sign in at %(url)s\n"
            )
            % names
        )
        return message_from_template(body, row.recipient, organization_brand(organization))

    sent = send_once(f"invitation:{user.pk}", [Recipient(user.email, language, user.pk)], render)
    if sent:
        User.objects.filter(pk=user.pk).update(invitation_sent_at=timezone.now())
    return bool(sent)


@atomic_with_retry
def user_preferences_update(*, actor: User, display_name: str, show_name: bool, language: str) -> User:
    """Whether others see the person's name, which name, and the language of the pages: one's own."""
    actor.display_name = display_name.strip()
    actor.show_name = show_name
    actor.language = language
    checked = ("display_name", "language")
    actor.clean_fields(exclude=[field.name for field in User._meta.fields if field.name not in checked])
    actor.save(update_fields=["display_name", "show_name", "language"])
    return actor


def sessions_delete(user_id: int) -> int:
    """Delete the person's stored sessions. Only database-backed sessions can be listed; the others die
    anyway, since an unusable password changes the hash every session is checked against."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store, "get_model_class"):
        return 0
    model = store.get_model_class()
    keys = [
        session.session_key
        for session in model.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000)
        if session.get_decoded().get(SESSION_KEY) == str(user_id)
    ]
    deleted, _ = model.objects.filter(session_key__in=keys).delete()
    return deleted


def user_erase(*, actor: User) -> tuple[User, str]:
    """Anonymise the account in place (one's own): e-mail, name, roles, tokens, notifications and
    sessions go; the row stays, so what it did still counts. Returns the person and the address they
    had, for the other apps' traces (participants.services.person_erase runs them all in one
    transaction). The only admin cannot go: the organisation would have nobody to run it."""
    person = User.objects.select_for_update().get(pk=actor.pk)
    if person.erased_at is not None:
        return person, ""
    admins = User.objects.select_for_update().filter(
        groups__name=ORG_ADMIN, is_active=True, erased_at__isnull=True
    )
    if person in admins and not admins.exclude(pk=person.pk).exists():
        raise ValidationError(
            {
                "confirm": [
                    gettext(
                        "You are this organisation's only admin: make someone else an admin before "
                        "erasing your account, or it would have nobody to run it."
                    )
                ]
            }
        )
    old_email = person.email
    person.email = f"erased-{uuid4().hex}@invalid"
    person.display_name = ""
    person.show_name = False
    person.language = ""
    person.set_unusable_password()
    person.is_active = False
    person.is_staff = False
    person.is_superuser = False
    person.last_login = None
    person.invitation_sent_at = None
    person.erased_at = timezone.now()
    person.save()
    person.groups.clear()
    person.user_permissions.clear()
    ApiToken.objects.filter(user=person).delete()
    Notification.objects.filter(user=person).delete()
    Notification.objects.filter(recipient__iexact=old_email).delete()
    sessions_delete(person.pk)
    return person, old_email
