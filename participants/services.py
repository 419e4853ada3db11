"""How people come in: join links (written by admins) and one-time sign-in links (asked for by anyone
holding a join link), in the current organisation's schema.

A join link is shared with the whole organisation, so it only opens the door to the form. Signing in
takes a link e-mailed to the address given: single use, 15 minutes, and kept as a SHA-256 hash, so
the database alone cannot sign anyone in. The address's owner proves it by clicking: the first
sign-in creates the participant, later ones find them. No password.
"""

import datetime as dt
import enum
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import AuditEntry, Notification, User
from accounts.roles import PARTICIPANT
from accounts.services import user_create, user_erase
from challenges.models import Challenge, Team, TeamMembership
from challenges.services import team_join
from challenges.services.people import person_traces_erase
from core.audit import audit_record
from core.db import atomic_with_retry
from core.notifications import Recipient, message_from_template, send_once
from core.permissions import MANAGE, require
from participants.models import JoinLink, SignInLink, Widget
from tenants.background import enqueue_on_commit
from tenants.models import Organization
from tenants.selectors import organization_brand, organization_path, organization_url

SIGN_IN_LINK_LIFETIME = dt.timedelta(minutes=15)
JOIN_LINK_LONGEST = dt.timedelta(days=366)
# A link may lead to a challenge people can still join: pledging goes on after success.
JOINABLE_STATUSES = (Challenge.Status.DRAFT, Challenge.Status.OPEN, Challenge.Status.SUCCEEDED)
SIGN_IN_LINK_TASK = "participants.tasks.sign_in_link_send"


class JoinRefused(Exception):  # noqa: N818 - reads as what happened, like TransitionRefused
    """A join token that opens nothing. The reason is safe to show: the token was in the visitor's hands."""

    class Reason(enum.StrEnum):
        UNKNOWN = "unknown"
        REVOKED = "revoked"
        EXPIRED = "expired"

    def __init__(self, reason: "JoinRefused.Reason") -> None:
        super().__init__(reason.value)
        self.reason = reason


class SignInRefused(Exception):  # noqa: N818 - reads as what happened
    """A sign-in link that signs nobody in."""

    class Reason(enum.StrEnum):
        UNKNOWN = "unknown"
        USED = "used"
        EXPIRED = "expired"
        WITHDRAWN = "withdrawn"  # its join link was revoked, or expired, in the meantime
        CLOSED = "closed"  # the account was erased or deactivated
        NO_ACCOUNT = "no_account"  # asked from the sign-in page, for an address with no account here

    def __init__(self, reason: "SignInRefused.Reason", sign_in_link: SignInLink | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.sign_in_link = sign_in_link


def max_length(model: type[models.Model], name: str) -> int:
    """How long a text field of a model may be: checked here, before the database refuses it."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.CharField)  # noqa: S101 - narrows the type
    return int(field.max_length or 0)


def sign_in_secret_hash(secret: str) -> str:
    """What is stored of a sign-in secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


# Join links ---------------------------------------------------------------------------------------


def join_link_path(join_link: JoinLink) -> str:
    return organization_path("access:join", token=join_link.token)


def join_link_url(join_link: JoinLink, organization: Organization) -> str:
    """The full address to post on the intranet."""
    return organization_url(organization, join_link_path(join_link))


@atomic_with_retry
def join_link_create(
    *,
    actor: User,
    challenge_id: int | None = None,
    label: str = "",
    expires_at: dt.datetime | None = None,
) -> JoinLink:
    """Create a join link for the organisation, or for one challenge it can still be joined to."""
    require(actor, MANAGE)
    errors: dict[str, list[str]] = {}
    challenge = None
    if challenge_id is not None:
        challenge = Challenge.objects.filter(pk=challenge_id).first()
        if challenge is None:
            errors["challenge"] = [_("This challenge does not exist.")]
        elif challenge.status not in JOINABLE_STATUSES:
            errors["challenge"] = [_("This challenge is over: nobody can join it any more.")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("The expiry must be in the future.")]
    elif expires_at is not None and expires_at > timezone.now() + JOIN_LINK_LONGEST:
        errors["expires_at"] = [
            _("A join link expires within a year; leave it empty to keep it until revoked.")
        ]
    label = label.strip()
    if len(label) > max_length(JoinLink, "label"):
        errors["label"] = [_("The label is too long.")]
    if errors:
        raise ValidationError(errors)
    join_link = JoinLink.objects.create(
        token=secrets.token_urlsafe(32),
        label=label,
        challenge=challenge,
        created_by=actor,
        expires_at=expires_at,
    )
    audit_record(
        AuditEntry.Kind.JOIN_LINK_CREATED,
        actor=actor,
        target=join_link.label or (challenge.title if challenge else ""),
    )
    return join_link


@atomic_with_retry
def join_link_revoke(*, actor: User, join_link_id: int) -> JoinLink:
    """Revoke a join link for good. Revoking it again changes nothing."""
    require(actor, MANAGE)
    revoked = JoinLink.objects.filter(pk=join_link_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    join_link = JoinLink.objects.get(pk=join_link_id)
    if revoked:
        audit_record(AuditEntry.Kind.JOIN_LINK_REVOKED, actor=actor, target=join_link.label)
    return join_link


def join_link_is_active(join_link: JoinLink, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return join_link.revoked_at is None and (join_link.expires_at is None or join_link.expires_at > now)


@atomic_with_retry
def widget_update(*, actor: User, challenge_id: int, join_link_id: int | None) -> Widget:
    """Choose what the challenge widget's button does: open the challenge page (no join link), or
    join through a link made for this challenge."""
    require(actor, MANAGE)
    challenge = Challenge.objects.filter(pk=challenge_id).first()
    if challenge is None:
        raise ValidationError({"challenge": [_("This challenge does not exist.")]})
    join_link = None
    if join_link_id is not None:
        join_link = JoinLink.objects.filter(pk=join_link_id, challenge=challenge).first()
        if join_link is None:
            raise ValidationError({"join_link": [_("Choose a join link made for this challenge.")]})
        if not join_link_is_active(join_link):
            raise ValidationError({"join_link": [_("This join link is revoked or expired.")]})
    widget, _created = Widget.objects.update_or_create(
        challenge=challenge, defaults={"join_link": join_link, "updated_by": actor}
    )
    audit_record(
        AuditEntry.Kind.WIDGET_CHANGED,
        actor=actor,
        target=challenge.title,
        changes=[{"field": "join_link", "old": None, "new": join_link.label if join_link else None}],
    )
    return widget


def join_link_check(token: str) -> JoinLink:
    """The join link of this token, if it still opens the door; else JoinRefused says why."""
    join_link = JoinLink.objects.select_related("challenge").filter(token=token).first()
    if join_link is None:
        raise JoinRefused(JoinRefused.Reason.UNKNOWN)
    if join_link.revoked_at is not None:
        raise JoinRefused(JoinRefused.Reason.REVOKED)
    if join_link.expires_at is not None and join_link.expires_at <= timezone.now():
        raise JoinRefused(JoinRefused.Reason.EXPIRED)
    return join_link


# Sign-in links ------------------------------------------------------------------------------------


def email_check(organization: Organization, email: str) -> str:
    """The address, normalised, if the organisation accepts it; else ValidationError on "email".

    A company accepts its allowed domains only, exactly: a subdomain is another domain unless it is
    listed too. A municipality or an association accepts any address.
    """
    email = email.strip().lower()
    try:
        if len(email) > max_length(SignInLink, "email"):
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [_("Enter a valid e-mail address.")]}) from None
    if organization.kind == Organization.Kind.COMPANY:
        allowed = {domain.strip().lower().lstrip("@") for domain in organization.allowed_email_domains}
        if not allowed:
            raise ValidationError(
                {"email": [_("This organisation has not set its e-mail domains yet: ask its admin.")]}
            )
        if email.rsplit("@", 1)[1] not in allowed:
            domains = ", ".join(f"@{domain}" for domain in sorted(allowed))
            raise ValidationError(
                {"email": [_("Use your work address, ending in %(domains)s.") % {"domains": domains}]}
            )
    return email


def sign_in_request(
    *,
    organization: Organization,
    join_link: JoinLink | None,
    email: str,
    display_name: str,
    language: str | None = None,
) -> SignInLink | None:
    """E-mail a one-time sign-in link to `email`.

    Through a join link, anyone with an accepted address gets one: their first sign-in creates them.
    Without one (a returning person asking from the sign-in page), only an address with an active
    account here gets a link, and nothing is written or sent for any other: a form that mails
    strangers is a way to spam them. The caller answers the same either way (no enumeration).
    """
    email = email_check(organization, email)
    display_name = display_name.strip()
    if len(display_name) > max_length(SignInLink, "display_name"):
        raise ValidationError({"display_name": [_("The name is too long.")]})
    if join_link is None and not _has_active_account(email):
        return None
    secret = secrets.token_urlsafe(32)
    sign_in_link = SignInLink.objects.create(
        key_hash=sign_in_secret_hash(secret),
        email=email,
        display_name=display_name,
        join_link=join_link,
        challenge=join_link.challenge if join_link is not None else None,
        expires_at=timezone.now() + SIGN_IN_LINK_LIFETIME,
    )
    language = language or translation.get_language() or organization.locale
    # Only the hash is stored, so the worker cannot rebuild the link: the secret travels in the task's
    # arguments. It lives 15 minutes and works once, which bounds what a reader of the broker could do.
    enqueue_on_commit(SIGN_IN_LINK_TASK, sign_in_link.pk, secret, language)
    return sign_in_link


def _has_active_account(email: str) -> bool:
    return User.objects.filter(email__iexact=email, is_active=True, erased_at__isnull=True).exists()


def sign_in_link_path(secret: str) -> str:
    return organization_path("access:sign_in", secret=secret)


def sign_in_link_send(
    *, organization: Organization, sign_in_link_id: int, secret: str, language: str
) -> bool:
    """E-mail a sign-in link, at most once, while it can still be used.

    The secret comes as an argument because only its hash is stored (see sign_in_request); it must
    match that hash, so this can only ever send the link it was made for.
    """
    sign_in_link = (
        SignInLink.objects.select_related("challenge")
        .filter(pk=sign_in_link_id, used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if sign_in_link is None or not hmac.compare_digest(sign_in_link.key_hash, sign_in_secret_hash(secret)):
        return False
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = organization.locale
    context = {
        "organization": organization,
        "challenge": sign_in_link.challenge,
        "url": organization_url(organization, sign_in_link_path(secret)),
        "minutes": int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60),
    }

    def render(row: Notification) -> EmailMessage:
        body = render_to_string(f"emails/sign_in.{language}.txt", context)
        return message_from_template(body, sign_in_link.email, organization_brand(organization))

    recipient = Recipient(sign_in_link.email, language)
    return bool(send_once(f"sign-in-link:{sign_in_link.pk}", [recipient], render))


def sign_in_link_check(secret: str) -> SignInLink:
    """The sign-in link of this secret, if it can still sign in; else SignInRefused says why."""
    sign_in_link = (
        SignInLink.objects.select_related("join_link", "challenge")
        .filter(key_hash=sign_in_secret_hash(secret))
        .first()
    )
    if sign_in_link is None:
        raise SignInRefused(SignInRefused.Reason.UNKNOWN)
    if sign_in_link.used_at is not None:
        raise SignInRefused(SignInRefused.Reason.USED, sign_in_link)
    if sign_in_link.expires_at <= timezone.now():
        raise SignInRefused(SignInRefused.Reason.EXPIRED, sign_in_link)
    if sign_in_link.join_link is not None and not join_link_is_active(sign_in_link.join_link):
        raise SignInRefused(SignInRefused.Reason.WITHDRAWN, sign_in_link)
    return sign_in_link


def _participant_for(sign_in_link: SignInLink) -> User:
    """The person of this address: found (whatever the case of the address), or created."""
    user = User.objects.filter(email__iexact=sign_in_link.email).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            # No password: this person always signs in by e-mail (user_create leaves it unusable).
            return user_create(
                email=sign_in_link.email, display_name=sign_in_link.display_name, role=PARTICIPANT
            )
    except IntegrityError:
        # Two first sign-ins of the same address at once (two links, two tabs): the other one won.
        return User.objects.get(email__iexact=sign_in_link.email)


@transaction.atomic
def sign_in_consume(*, secret: str) -> User:
    """Use a sign-in link, once: return the person to sign in, created on their first sign-in."""
    sign_in_link = sign_in_link_check(secret)
    now = timezone.now()
    # The UPDATE is the single-use guard: of two clicks at once, only one finds used_at still empty.
    claimed = SignInLink.objects.filter(pk=sign_in_link.pk, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if not claimed:
        raise SignInRefused(SignInRefused.Reason.USED, sign_in_link)
    if (
        sign_in_link.join_link_id is None
        and not User.objects.filter(email__iexact=sign_in_link.email).exists()
    ):
        raise SignInRefused(SignInRefused.Reason.NO_ACCOUNT, sign_in_link)
    user = _participant_for(sign_in_link)
    if not user.is_active or user.erased_at is not None:
        raise SignInRefused(SignInRefused.Reason.CLOSED, sign_in_link)
    if not user.display_name and sign_in_link.display_name:
        user.display_name = sign_in_link.display_name
        user.save(update_fields=["display_name"])
    return user


# Teams and erasure --------------------------------------------------------------------------------


def team_choose(*, actor: User, team_id: int) -> TeamMembership:
    """Join a team, leaving the previous one. Pledges already made stay with the team they were made in."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise ValidationError({"team": [_("This team does not exist.")]})
    return team_join(actor=actor, team=team)


@atomic_with_retry
def person_erase(*, actor: User) -> User:
    """Erase one's own account: anonymised in place (accounts), the notes and captaincy it left in
    challenges, the sign-in links of its address; the rows that count (pledges, contributions, team
    membership) stay, so totals, team standings and reports do not change. Twice changes nothing more."""
    person, old_email = user_erase(actor=actor)
    if old_email:
        person_traces_erase(person)
        SignInLink.objects.filter(email__iexact=old_email).delete()
    return person
