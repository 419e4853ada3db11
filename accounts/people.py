"""Writes on the organisation's people by its admins: roles, deactivation, invitations.

Every one takes the acting admin, checks the permission first, records itself in the audit trail,
and keeps at least one active admin: the last one cannot be demoted, deactivated or erased.
"""

import datetime as dt
import hashlib
import secrets

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditEntry, Invitation, User
from accounts.roles import ORG_ADMIN, ROLE_KEYS, ROLE_OF_GROUP, roles_sync
from accounts.services import sessions_delete
from core.audit import audit_record
from core.db import atomic_with_retry
from core.notifications import Recipient, message_from_template, send_once
from core.permissions import MANAGE, require
from tenants.background import enqueue_on_commit
from tenants.models import Organization
from tenants.selectors import organization_brand, organization_path, organization_url

INVITATION_LIFETIME = dt.timedelta(days=7)
INVITATION_TASK = "accounts.tasks.person_invitation_send"
Kind = AuditEntry.Kind


def person_role(person: User) -> str:
    """participant, executive or admin (the groups prefetched, or read)."""
    for group in person.groups.all():
        if group.name in ROLE_OF_GROUP:
            return ROLE_OF_GROUP[group.name]
    return "participant"


def _last_admin_check(person: User, message: str) -> None:
    """Refuse (on "role") to leave the organisation without an active admin."""
    admins = User.objects.select_for_update().filter(
        groups__name=ORG_ADMIN, is_active=True, erased_at__isnull=True
    )
    if admins.filter(pk=person.pk).exists() and not admins.exclude(pk=person.pk).exists():
        raise ValidationError({"role": [message]})


def _groups() -> dict[str, Group]:
    groups = {group.name: group for group in Group.objects.filter(name__in=ROLE_KEYS.values())}
    return groups if len(groups) == len(ROLE_KEYS) else roles_sync()


@atomic_with_retry
def person_role_set(*, actor: User, person: User, role: str) -> User:
    require(actor, MANAGE)
    if role not in ROLE_KEYS:
        raise ValidationError({"role": [_("Choose participant, executive or admin.")]})
    person = User.objects.select_for_update().get(pk=person.pk)
    previous = person_role(person)
    if previous == role:
        return person
    if previous == "admin":
        _last_admin_check(
            person, _("This is the organisation's last active admin: make someone else an admin first.")
        )
    groups = _groups()
    person.groups.remove(*[groups[name] for name in ROLE_KEYS.values()])
    person.groups.add(groups[ROLE_KEYS[role]])
    audit_record(
        Kind.ROLE_CHANGED,
        actor=actor,
        subject=person,
        changes=[{"field": "role", "old": previous, "new": role}],
    )
    return person


@atomic_with_retry
def person_deactivate(*, actor: User, person: User) -> User:
    """The person can no longer sign in; what they pledged and logged still counts."""
    require(actor, MANAGE)
    person = User.objects.select_for_update().get(pk=person.pk)
    if not person.is_active:
        return person
    _last_admin_check(person, _("This is the organisation's last active admin: it cannot be deactivated."))
    person.is_active = False
    person.save(update_fields=["is_active"])
    sessions_delete(person.pk)
    audit_record(Kind.PERSON_DEACTIVATED, actor=actor, subject=person)
    return person


@atomic_with_retry
def person_reactivate(*, actor: User, person: User) -> User:
    require(actor, MANAGE)
    person = User.objects.select_for_update().get(pk=person.pk)
    if person.is_active or person.erased_at is not None:
        return person
    person.is_active = True
    person.save(update_fields=["is_active"])
    audit_record(Kind.PERSON_REACTIVATED, actor=actor, subject=person)
    return person


# Invitations ---------------------------------------------------------------------------------------


def invitation_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _invitation_renew(invitation: Invitation) -> str:
    secret = secrets.token_urlsafe(32)
    invitation.key_hash = invitation_hash(secret)
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    invitation.sends += 1
    invitation.save(update_fields=["key_hash", "expires_at", "sends"])
    return secret


@atomic_with_retry
def person_invite(
    *, actor: User, email: str, display_name: str = "", role: str = "participant"
) -> Invitation:
    """Invite a person by e-mail: their account (with this role) and a link valid 7 days, e-mailed
    after commit. An admin or executive sets a password through it; a participant is signed in."""
    require(actor, MANAGE)
    email = email.strip().lower()
    errors: dict[str, list[str]] = {}
    try:
        User._meta.get_field("email").run_validators(email)
        if not email:
            raise ValidationError(_("Enter an e-mail address."))
    except ValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if role not in ROLE_KEYS:
        errors["role"] = [_("Choose participant, executive or admin.")]
    if len(display_name.strip()) > 150:
        errors["display_name"] = [_("The name is too long.")]
    if not errors and User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_("This person is already in the organisation: resend their invitation instead.")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            person = User.objects.create_user(email=email, display_name=display_name.strip())
    except IntegrityError:
        raise ValidationError({"email": [_("This person is already in the organisation.")]}) from None
    person.set_unusable_password()
    person.save(update_fields=["password"])
    person.groups.add(_groups()[ROLE_KEYS[role]])
    invitation = Invitation(user=person, invited_by=actor, key_hash="", expires_at=timezone.now())
    invitation.save()
    secret = _invitation_renew(invitation)
    enqueue_on_commit(INVITATION_TASK, invitation.pk, secret)
    audit_record(
        Kind.PERSON_INVITED,
        actor=actor,
        subject=person,
        changes=[{"field": "role", "old": None, "new": role}],
    )
    return invitation


@atomic_with_retry
def invitation_resend(*, actor: User, person: User) -> Invitation:
    """A new link for a person who has not accepted yet (the old one stops working)."""
    require(actor, MANAGE)
    invitation = (
        Invitation.objects.select_for_update()
        .filter(user=person, accepted_at__isnull=True)
        .order_by("-pk")
        .first()
    )
    if invitation is None or person.last_login is not None:
        raise ValidationError(
            {"invitation": [_("This person has already signed in: there is nothing to resend.")]}
        )
    secret = _invitation_renew(invitation)
    enqueue_on_commit(INVITATION_TASK, invitation.pk, secret)
    audit_record(Kind.INVITATION_RESENT, actor=actor, subject=person)
    return invitation


def invitation_path(secret: str) -> str:
    return organization_path("invitation", secret=secret)


def person_invitation_send(*, organization: Organization, invitation_id: int, secret: str) -> bool:
    """E-mail the invitation, at most once per sending, while it can still be accepted."""
    invitation = (
        Invitation.objects.select_related("user", "invited_by")
        .filter(pk=invitation_id, accepted_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if invitation is None or not secrets.compare_digest(invitation.key_hash, invitation_hash(secret)):
        return False
    person = invitation.user
    language = person.language or organization.locale
    context = {
        "organization": organization,
        "url": organization_url(organization, invitation_path(secret)),
        "sets_password": person_role(person) != "participant",
        "days": INVITATION_LIFETIME.days,
    }

    def render(row: object) -> EmailMessage:
        body = render_to_string(f"emails/invitation.{language}.txt", context)
        return message_from_template(body, person.email, organization_brand(organization))

    sent = send_once(
        f"invitation:{invitation.pk}:{invitation.sends}",
        [Recipient(person.email, language, person.pk)],
        render,
    )
    if sent:
        Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return bool(sent)


class InvitationRefused(Exception):  # noqa: N818 - reads as what happened
    """An invitation link that opens nothing: unknown, used, or expired (the reason is safe to show)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def invitation_check(secret: str) -> Invitation:
    invitation = Invitation.objects.select_related("user").filter(key_hash=invitation_hash(secret)).first()
    if invitation is None:
        raise InvitationRefused("unknown")
    if invitation.accepted_at is not None:
        raise InvitationRefused("used")
    if invitation.expires_at <= timezone.now():
        raise InvitationRefused("expired")
    if not invitation.user.is_active or invitation.user.erased_at is not None:
        raise InvitationRefused("closed")
    return invitation


@atomic_with_retry
def invitation_accept(*, secret: str, password: str | None = None) -> User:
    """Use an invitation once: a participant is signed in; an admin or executive sets their password."""
    invitation = invitation_check(secret)
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    if not claimed:
        raise InvitationRefused("used")
    person = invitation.user
    if password is not None:
        person.set_password(password)
        person.save(update_fields=["password"])
    return person
