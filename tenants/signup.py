"""Self-service sign-up on the public site: an HR or CSR manager creates their organisation.

1. The form is checked by `organization_create_check` (the rules of provisioning), plus the slugs
   held by other sign-ups; a good one stores a SignupRequest and e-mails a confirmation link. Only
   the SHA-256 of the link's secret is stored; the secret travels to the worker in the task's
   arguments, as the participants' sign-in links do.
2. The link (24 hours, single use: an UPDATE is the guard) confirms the address and queues the
   provisioning, which a Celery task runs through `organization_create`, the same service as the
   `create_organization` command, with the person as admin, on the Discovery plan. It is one
   transaction: a failure leaves no schema and no row, and the person may try again.
3. While it runs, the progress page reads the sign-up's status, and the step inside the
   provisioning transaction (invisible to other connections until it commits) from the shared
   cache. Once ready, the browser that confirmed is handed over to the organisation's host with a
   one-time sign-in link there (the participants' mechanism, named by SIGNUP_HANDOFF: this layer
   cannot import it).
"""

import contextlib
import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django_tenants.signals import schema_migrated
from django_tenants.utils import tenant_context

from core import ratelimit
from core.notifications import Brand, Recipient, message_from_template, send_once
from tenants.background import enqueue_on_commit
from tenants.models import Organization, SignupRequest
from tenants.selectors import organization_url, site_url
from tenants.services import organization_create, organization_create_check
from tenants.validators import validate_slug

logger = logging.getLogger(__name__)

Status, Step, Failure = SignupRequest.Status, SignupRequest.Step, SignupRequest.Failure

CONFIRMATION_LIFETIME = dt.timedelta(hours=24)
CONFIRMATION_TASK = "tenants.tasks.signup_confirmation_send"
PROVISION_TASK = "tenants.tasks.signup_provision"
# The step a running provisioning has reached, written from inside its transaction.
STEP_CACHE = "shared"
STEP_TIMEOUT = 3600

# Every form sent counts against the first limit (it bounds probing for free addresses); only the
# sign-ups that store a row and send an e-mail count against the other two.
ATTEMPTS_PER_CLIENT = ratelimit.Limit("signup-attempt", requests=30, seconds=3600, requests_everywhere=30)
SIGNUPS_PER_CLIENT = ratelimit.Limit("signup-client", requests=5, seconds=3600, requests_everywhere=5)
SIGNUPS_PER_ADDRESS = ratelimit.Limit("signup-address", requests=3, seconds=3600, requests_everywhere=3)

# The sign-up's field names, where organization_create_check names them otherwise.
CHECK_FIELDS = {"name": "organization_name", "admin_email": "email"}
PERSON_NAME_LENGTH = 150  # SignupRequest.person_name, and the admin's display name
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,128}")

# What the e-mails of the public site look like: Crowdact's own name and colour.
CROWDACT_COLOUR = "#1F6F5C"


class SignupRefused(Exception):  # noqa: N818 - reads as what happened, like SignInRefused
    """A confirmation link that confirms nothing. The reason is safe to show: the link was in the
    visitor's hands."""

    class Reason(enum.StrEnum):
        UNKNOWN = "unknown"
        USED = "used"
        EXPIRED = "expired"

    def __init__(self, reason: "SignupRefused.Reason", signup: SignupRequest | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.signup = signup


def secret_hash(secret: str) -> str:
    """What is stored of a confirmation secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def slug_taken_message() -> str:
    return _("This address is taken: choose another one.")


def slug_suggest(name: str) -> str:
    """An address made of the organisation's name: "Ville de Besançon" → "ville-de-besancon"."""
    # As static/tenants/signup.js makes it while the name is typed.
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text)
    slug = re.sub(r"^[^a-z]+", "", slug)  # a slug starts with a letter
    return slug[:63].rstrip("-")


def organization_host_of(slug: str) -> str:
    return f"{slug}.{settings.BASE_DOMAIN}"


# Checking and storing the form ----------------------------------------------------------------------


def _slug_message(slug: str) -> str:
    """Why organization_create_check refused the slug, in the sign-up's own words."""
    try:
        validate_slug(slug)
    except ValidationError as error:
        if error.code == "reserved_slug":
            return _("This address is reserved for Crowdact: choose another one.")
        return _(
            "Use 2 to 63 lower-case letters (a to z without accents), digits and hyphens, starting with "
            "a letter and not ending with a hyphen."
        )
    return slug_taken_message()


def _slug_held(slug: str, now: dt.datetime) -> bool:
    """Whether another sign-up holds the slug: unconfirmed and unexpired, or on its way to be made."""
    return (
        SignupRequest.objects.filter(slug=slug)
        .filter(
            Q(status=Status.PENDING, expires_at__gt=now)
            | Q(status__in=[Status.CONFIRMED, Status.PROVISIONING])
        )
        .exists()
    )


def signup_check(
    *, organization_name: str, slug: str, kind: str, locale: str, person_name: str, email: str
) -> None:
    """Raise a ValidationError naming every bad field of a sign-up; touch nothing.

    The organisation's rules are provisioning's (organization_create_check); a slug taken by an
    organisation or held by another sign-up, and a reserved one, get sentences of their own.
    """
    errors: dict[str, list[str]] = {}
    try:
        organization_create_check(
            slug=slug, name=organization_name, kind=kind, admin_email=email, locale=locale
        )
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            errors[CHECK_FIELDS.get(field, field)] = list(messages)
    if "slug" in errors:
        errors["slug"] = [_slug_message(slug)]
    elif _slug_held(slug, timezone.now()):
        errors["slug"] = [slug_taken_message()]
    if not person_name.strip():
        errors["person_name"] = [_("Enter your name.")]
    elif len(person_name.strip()) > PERSON_NAME_LENGTH:
        errors["person_name"] = [_("The name is too long.")]
    if errors:
        raise ValidationError(errors)


def signup_create(
    *,
    organization_name: str,
    slug: str,
    kind: str,
    locale: str,
    person_name: str,
    email: str,
    language: str,
    client: str = "",
) -> SignupRequest:
    """Store a sign-up and e-mail its confirmation link (after commit). All or nothing.

    The answer is the same whether or not the address already runs an organisation: nothing here
    looks at it.
    """
    organization_name, person_name = organization_name.strip(), person_name.strip()
    slug = slug.strip().lower() or slug_suggest(organization_name)
    email = email.strip().lower()
    signup_check(
        organization_name=organization_name,
        slug=slug,
        kind=kind,
        locale=locale,
        person_name=person_name,
        email=email,
    )
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = settings.LANGUAGE_CODE
    secret = secrets.token_urlsafe(32)
    now = timezone.now()
    try:
        with transaction.atomic():
            # An unconfirmed sign-up past its 24 hours lets go of its slug.
            SignupRequest.objects.filter(slug=slug, status=Status.PENDING, expires_at__lte=now).update(
                status=Status.EXPIRED
            )
            signup = SignupRequest.objects.create(
                email=email,
                person_name=person_name,
                organization_name=organization_name,
                slug=slug,
                kind=kind,
                locale=locale,
                language=language,
                key_hash=secret_hash(secret),
                client=client[:64],
                expires_at=now + CONFIRMATION_LIFETIME,
            )
            # Only the hash is stored: the secret travels in the task's arguments.
            enqueue_on_commit(CONFIRMATION_TASK, signup.pk, secret)
    except IntegrityError as error:
        # Another sign-up took the slug between the check and the insert.
        raise ValidationError({"slug": [slug_taken_message()]}) from error
    return signup


# The confirmation e-mail ------------------------------------------------------------------------------


def confirmation_url(secret: str) -> str:
    path = reverse("signup:confirm", urlconf=settings.PUBLIC_SCHEMA_URLCONF)
    return site_url(settings.BASE_DOMAIN, f"{path}?key={secret}")


def crowdact_brand() -> Brand:
    return Brand("Crowdact", CROWDACT_COLOUR, "", site_url(settings.BASE_DOMAIN))


def signup_confirmation_send(*, signup_id: int, secret: str) -> bool:
    """E-mail the confirmation link, at most once, while it can still be used. The secret must match
    the stored hash, so this can only ever send the link it was made for."""
    signup = SignupRequest.objects.filter(
        pk=signup_id, status=Status.PENDING, expires_at__gt=timezone.now()
    ).first()
    if signup is None or not hmac.compare_digest(signup.key_hash, secret_hash(secret)):
        return False
    language = signup.language if signup.language in {"en", "fr"} else "en"
    context = {
        "signup": signup,
        "url": confirmation_url(secret),
        "host": organization_host_of(signup.slug),
        "hours": int(CONFIRMATION_LIFETIME.total_seconds() // 3600),
    }

    def render(row: Any) -> EmailMessage:
        body = render_to_string(f"emails/signup_confirm.{language}.txt", context)
        return message_from_template(body, signup.email, crowdact_brand())

    recipient = Recipient(signup.email, language)
    return bool(send_once(f"signup:{signup.pk}:confirm", [recipient], render))


# Confirming -------------------------------------------------------------------------------------------


def signup_confirm_check(secret: str) -> SignupRequest:
    """The sign-up of this secret, if its link can still confirm it; else SignupRefused says why."""
    if not SECRET_PATTERN.fullmatch(secret):
        raise SignupRefused(SignupRefused.Reason.UNKNOWN)
    signup = SignupRequest.objects.filter(key_hash=secret_hash(secret)).first()
    if signup is None:
        raise SignupRefused(SignupRefused.Reason.UNKNOWN)
    if signup.status == Status.EXPIRED or (
        signup.status == Status.PENDING and signup.expires_at <= timezone.now()
    ):
        raise SignupRefused(SignupRefused.Reason.EXPIRED, signup)
    if signup.status != Status.PENDING:
        raise SignupRefused(SignupRefused.Reason.USED, signup)
    return signup


def signup_confirm(*, secret: str) -> SignupRequest:
    """Use a confirmation link, once: the address is confirmed and the provisioning queued."""
    signup = signup_confirm_check(secret)
    now = timezone.now()
    with transaction.atomic():
        # The UPDATE is the single-use guard: of two clicks at once, only one finds it still pending.
        claimed = SignupRequest.objects.filter(
            pk=signup.pk, status=Status.PENDING, expires_at__gt=now
        ).update(status=Status.CONFIRMED, confirmed_at=now)
        if not claimed:
            raise SignupRefused(SignupRefused.Reason.USED, signup)
        enqueue_on_commit(PROVISION_TASK, signup.pk)
    signup.refresh_from_db()
    return signup


# Provisioning -----------------------------------------------------------------------------------------


def _step_key(signup_id: int) -> str:
    return f"signup:{signup_id}:step"


@contextlib.contextmanager
def _steps_reported(signup: SignupRequest) -> Iterator[None]:
    """While the organisation is provisioned, say which step it is at: once its schema is migrated
    (django-tenants' signal, the one moment inside organization_create that the outside can see),
    the remaining steps set up the admin and the challenge library."""
    cache = caches[STEP_CACHE]
    cache.set(_step_key(signup.pk), Step.SPACE.value, STEP_TIMEOUT)

    def migrated(sender: Any, schema_name: str = "", **kwargs: Any) -> None:
        if schema_name == signup.slug:
            cache.set(_step_key(signup.pk), Step.LIBRARY.value, STEP_TIMEOUT)

    uid = f"signup-progress-{signup.pk}"
    schema_migrated.connect(migrated, weak=False, dispatch_uid=uid)
    try:
        yield
    finally:
        schema_migrated.disconnect(dispatch_uid=uid)
        cache.delete(_step_key(signup.pk))


def _signup_fail(signup_id: int, failure: str, error: str) -> SignupRequest:
    SignupRequest.objects.filter(pk=signup_id, status=Status.PROVISIONING).update(
        status=Status.FAILED, failure=failure, error=error[:2000], step="", finished_at=timezone.now()
    )
    return SignupRequest.objects.get(pk=signup_id)


def signup_provision(*, signup_id: int) -> SignupRequest | None:
    """Make the organisation of a confirmed sign-up, through organization_create; safe to run twice.

    The claim (confirmed → provisioning) commits first, so that the progress page sees it; the
    provisioning then runs in one transaction holding the sign-up's row: a second run at the same
    time skips it, a run after a worker died mid-way (its transaction gone, nothing half-made) goes
    again, a run after the end finds nothing to do. Returns None when there was nothing to do.
    """
    SignupRequest.objects.filter(pk=signup_id, status=Status.CONFIRMED).update(
        status=Status.PROVISIONING, step=Step.SPACE, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    try:
        with transaction.atomic():
            signup = (
                SignupRequest.objects.select_for_update(skip_locked=True)
                .filter(pk=signup_id, status=Status.PROVISIONING)
                .first()
            )
            if signup is None:
                return None
            with _steps_reported(signup):
                provisioned = organization_create(
                    slug=signup.slug,
                    name=signup.organization_name,
                    kind=signup.kind,
                    admin_email=signup.email,
                    locale=signup.locale,
                )
            signup.status, signup.step = Status.READY, Step.READY
            signup.organization = provisioned.organization
            signup.failure, signup.error, signup.finished_at = "", "", timezone.now()
            signup.save(update_fields=["status", "step", "organization", "failure", "error", "finished_at"])
    except ValidationError as error:
        # The slug was taken meanwhile (an operator's organisation, say): try again will not help.
        failure = Failure.SLUG_TAKEN if "slug" in getattr(error, "error_dict", {}) else Failure.ERROR
        return _signup_fail(signup_id, failure, " ".join(error.messages))
    except Exception as error:  # whatever it was, nothing of it stays, and the person is told
        logger.exception("The provisioning of sign-up %s failed", signup_id)
        return _signup_fail(signup_id, Failure.ERROR, f"{type(error).__name__}: {error}")
    return signup


def signup_retry(*, signup_id: int) -> SignupRequest:
    """Queue the provisioning of a failed sign-up again (not when its slug was taken: another
    address is needed, through the form)."""
    try:
        with transaction.atomic():
            again = SignupRequest.objects.filter(
                pk=signup_id, status=Status.FAILED, failure=Failure.ERROR
            ).update(status=Status.CONFIRMED, failure="", error="", step="", finished_at=None)
            if again:
                enqueue_on_commit(PROVISION_TASK, signup_id)
    except IntegrityError:
        # Another sign-up holds the slug since this one failed.
        SignupRequest.objects.filter(pk=signup_id, status=Status.FAILED).update(failure=Failure.SLUG_TAKEN)
    return SignupRequest.objects.get(pk=signup_id)


# Progress and the hand-over ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProgressStep:
    key: str
    state: str  # "done", "current" or "waiting"


@dataclasses.dataclass(frozen=True)
class SignupProgress:
    status: str
    steps: list[ProgressStep]
    running: bool  # still moving: the page refreshes itself
    host: str


PROGRESS_STEPS = (Step.SPACE, Step.LIBRARY, Step.READY)


def signup_progress(signup: SignupRequest) -> SignupProgress:
    """Where the sign-up stands: its status, and each step done, under way or waiting."""
    reached = -1  # nothing started
    if signup.status == Status.READY:
        reached = len(PROGRESS_STEPS)
    elif signup.status == Status.PROVISIONING:
        step = caches[STEP_CACHE].get(_step_key(signup.pk)) or signup.step
        keys = [s.value for s in PROGRESS_STEPS]
        reached = keys.index(step) if step in keys else 0
    steps = [
        ProgressStep(step.value, "done" if index < reached else "current" if index == reached else "waiting")
        for index, step in enumerate(PROGRESS_STEPS)
    ]
    return SignupProgress(
        status=signup.status,
        steps=steps,
        running=signup.status in (Status.CONFIRMED, Status.PROVISIONING),
        host=organization_host_of(signup.slug),
    )


def signup_handoff_url(signup: SignupRequest) -> str:
    """A one-time address on the new organisation's host that signs its admin in.

    The link is made by SIGNUP_HANDOFF (a function of `email` and `display_name` returning a path),
    in the organisation's schema: a sign-in link like the participants' (single use, short-lived,
    only its hash stored), never e-mailed.
    """
    organization = Organization.objects.get(pk=signup.organization_id)
    with tenant_context(organization):
        path = import_string(settings.SIGNUP_HANDOFF)(email=signup.email, display_name=signup.person_name)
    return organization_url(organization, path)


def organization_sign_in_url(signup: SignupRequest) -> str:
    """The new organisation's sign-in page (for a later visit, once the hand-over is spent)."""
    organization = Organization.objects.get(pk=signup.organization_id)
    return organization_url(organization, reverse("login", urlconf=settings.ROOT_URLCONF))
