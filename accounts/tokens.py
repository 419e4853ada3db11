"""API tokens: how an integration signs in to one organisation's API.

A token is a random secret shown once; only its SHA-256 is stored (the secret has 256 bits of
entropy, so a fast hash is enough and a lookup by hash is one indexed query). It lives in the
organisation's schema: on another organisation's host the same secret finds nothing.
"""

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from accounts.models import ApiToken, AuditEntry, User
from core import ratelimit
from core.audit import audit_record
from core.http import client_address
from core.permissions import MANAGE, require

SECRET_PREFIX = "cra_"  # noqa: S105 - marks a Crowdact token in logs and secret scanners
PREFIX_LENGTH = 12
# last_used_at is written at most this often, so a busy integration does not write on every call.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
KEYWORDS = (b"bearer", b"token")
DEFAULT_LIFETIME = dt.timedelta(days=90)
MAX_LIFETIME = dt.timedelta(days=366)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# A client that keeps sending tokens that open nothing is guessing: it is paused, valid token or not.
GUESSES = ratelimit.Limit("api-token-failures", requests=20, seconds=15 * 60, requests_everywhere=60)


def api_token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, actor: User, name: str, scope: str = ApiToken.Scope.READ, expires_at: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token acting as `actor`; return it with its secret, which is never stored.

    It expires after DEFAULT_LIFETIME unless told otherwise, and within MAX_LIFETIME. The API lets
    only a signed-in admin call this, never a token (accounts/api.py): a token cannot mint others.
    """
    require(actor, MANAGE, "Only an organisation admin can create API tokens.")
    now = timezone.now()
    expires_at = expires_at or now + DEFAULT_LIFETIME
    if not now < expires_at <= now + MAX_LIFETIME:
        raise ValidationError({"expires_at": ["A token expires within a year from now."]})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name.strip(),
        prefix=secret[:PREFIX_LENGTH],
        key_hash=api_token_hash(secret),
        user=actor,
        created_by=actor,
        scope=scope,
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    audit_record(
        AuditEntry.Kind.API_TOKEN_CREATED,
        actor=actor,
        target=f"{token.name} ({token.prefix}…)",
        changes=[{"field": "scope", "old": None, "new": scope}],
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke a token for good. Revoking it again changes nothing."""
    require(actor, MANAGE, "Only an organisation admin can revoke API tokens.")
    token = ApiToken.objects.select_for_update().get(pk=token_id)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(AuditEntry.Kind.API_TOKEN_REVOKED, actor=actor, target=f"{token.name} ({token.prefix}…)")
    return token


def api_token_list() -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("user", "created_by").order_by("-created_at", "-pk")


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <secret>` (or `Token <secret>`). Other requests are left to the session."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "").encode()
        parts = header.split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        client = client_address(request._request)
        if ratelimit.exceeded(GUESSES, client):
            raise exceptions.Throttled(
                wait=GUESSES.seconds,
                detail="Too many invalid tokens were sent from here: try again in 15 minutes.",
            )
        token = self._token(parts)
        if token is None or token.revoked_at is not None or token.expires_at <= timezone.now():
            ratelimit.hit(GUESSES, client)
        if token is None:
            raise exceptions.AuthenticationFailed("This token is not valid.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token was revoked.")
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                f"This token expired on {token.expires_at:%Y-%m-%d}: an admin can create a new one."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The person this token acts for is deactivated.")
        if token.scope == ApiToken.Scope.READ and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(
                "This token only reads: writing needs a token with write scope."
            )
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    @staticmethod
    def _token(parts: list[bytes]) -> ApiToken | None:
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the header as: Authorization: Bearer <token>.")
        try:
            secret = parts[1].decode()
        except UnicodeDecodeError:
            return None
        return ApiToken.objects.select_related("user").filter(key_hash=api_token_hash(secret)).first()

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to a request without valid credentials.
        return 'Bearer realm="api"'
