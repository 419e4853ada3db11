"""API tokens: created and revoked by admins, shown once, stored hashed, valid in one organisation only."""

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import ApiToken, User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT, roles_sync
from accounts.tokens import api_token_create, api_token_hash
from challenges.models import Team
from tests.api import V1, api_client, post
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def bearer(secret: str, host: str = f"alpha.{settings.BASE_DOMAIN}", keyword: str = "Bearer") -> Client:
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"{keyword} {secret}")


@pytest.fixture
def token_admin(in_org_a) -> User:
    """An admin whose address the token list is checked against (the other tests use the shared admin)."""
    return UserFactory.create(email="admin.tokens@alpha.test", role=ORG_ADMIN)


def test_an_admin_creates_a_token_whose_secret_is_shown_once_and_stored_hashed(admin):
    client = api_client(admin)

    created = post(client, f"{V1}/tokens/", {"name": "Intranet widget"})
    listed = client.get(f"{V1}/tokens/")

    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("cra_")
    assert len(secret) > 40
    assert body["prefix"] == secret[:12]
    assert body["user"]["id"] == admin.pk
    assert body["created_by"]["id"] == admin.pk
    assert body["revoked_at"] is None
    # the secret is never shown again, and never stored
    assert listed.json()["results"][0]["name"] == "Intranet widget"
    assert "secret" not in listed.json()["results"][0]
    assert secret.encode() not in listed.content
    stored = ApiToken.objects.get()
    assert stored.key_hash == api_token_hash(secret)
    assert secret not in {stored.name, stored.prefix, stored.key_hash}


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
def test_a_token_signs_in_as_its_admin(admin, keyword):
    _, secret = api_token_create(actor=admin, name="CI", scope=ApiToken.Scope.WRITE)

    response = post(bearer(secret, keyword=keyword), f"{V1}/teams/", {"name": "Made by a script"})

    assert response.status_code == 201, response.content
    assert Team.objects.filter(name="Made by a script").exists()


def test_a_token_is_refused_on_another_organisation_and_changes_nothing_there(org_b, admin):
    # given a token of organisation A
    _, secret = api_token_create(actor=admin, name="CI")
    with tenant_context(org_b):
        teams_in_b = Team.objects.count()

    # when it is sent to organisation B's host
    listed = bearer(secret, host=f"beta.{settings.BASE_DOMAIN}").get(f"{V1}/teams/")
    created = post(bearer(secret, host=f"beta.{settings.BASE_DOMAIN}"), f"{V1}/teams/", {"name": "Planted"})

    # then B answers 401 to both, and nothing changed in B
    assert listed.status_code == 401
    assert created.status_code == 401
    assert listed.json() == {"detail": "This token is not valid."}
    with tenant_context(org_b):
        assert Team.objects.count() == teams_in_b


def test_a_revoked_token_is_refused_and_revoking_again_changes_nothing(admin):
    token, secret = api_token_create(actor=admin, name="CI")
    assert bearer(secret).get(f"{V1}/teams/").status_code == 200
    client = api_client(admin)

    revoked = post(client, f"{V1}/tokens/{token.pk}/revoke/")
    first_revocation = ApiToken.objects.get().revoked_at
    again = post(client, f"{V1}/tokens/{token.pk}/revoke/")
    refused = bearer(secret).get(f"{V1}/teams/")

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert again.status_code == 200
    assert ApiToken.objects.get().revoked_at == first_revocation
    assert refused.status_code == 401
    assert refused.json() == {"detail": "This token was revoked."}


def test_an_unknown_or_malformed_token_is_refused_with_401(in_org_a):
    unknown = bearer("cra_not-a-real-token").get(f"{V1}/teams/")
    malformed = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}", HTTP_AUTHORIZATION="Bearer a b").get(
        f"{V1}/teams/"
    )

    assert unknown.status_code == 401
    assert unknown["WWW-Authenticate"] == 'Bearer realm="api"'
    assert malformed.status_code == 401


def test_a_token_of_a_deactivated_person_is_refused(admin):
    _, secret = api_token_create(actor=admin, name="CI")
    User.objects.filter(pk=admin.pk).update(is_active=False)

    response = bearer(secret).get(f"{V1}/teams/")

    assert response.status_code == 401


def test_a_token_has_the_permissions_its_person_has_now(admin):
    # given a write token of an admin who has since become a participant
    _, secret = api_token_create(actor=admin, name="CI", scope=ApiToken.Scope.WRITE)
    groups = roles_sync()
    admin.groups.set([groups[PARTICIPANT]])

    # when it is used to write
    response = post(bearer(secret), f"{V1}/teams/", {"name": "Not any more"})

    # then it is refused, and nothing was created
    assert response.status_code == 403
    assert not Team.objects.filter(name="Not any more").exists()


def test_last_used_at_is_written_at_most_once_a_minute(admin, django_assert_num_queries):
    token, secret = api_token_create(actor=admin, name="CI")
    client = bearer(secret)

    client.get(f"{V1}/impact-factors/")
    token.refresh_from_db()
    first_use = token.last_used_at
    # the second call within the minute writes nothing: one query fewer than the first
    with django_assert_num_queries(6):
        client.get(f"{V1}/impact-factors/")
    token.refresh_from_db()
    assert first_use is not None
    assert token.last_used_at == first_use

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - dt.timedelta(minutes=2))
    client.get(f"{V1}/impact-factors/")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_at > first_use - dt.timedelta(seconds=1)
    assert token.last_used_at <= timezone.now()


@pytest.mark.parametrize("role", [PARTICIPANT, EXECUTIVE])
def test_only_an_admin_lists_creates_and_revokes_tokens(admin, role):
    # given an admin's token and someone who is not an admin
    token, secret = api_token_create(actor=admin, name="CI")
    client = api_client(UserFactory.create(role=role))

    # when they try to list, create and revoke
    responses = [
        client.get(f"{V1}/tokens/"),
        post(client, f"{V1}/tokens/", {"name": "Mine"}),
        post(client, f"{V1}/tokens/{token.pk}/revoke/"),
    ]

    # then each is refused, the admin's token still works and no other exists
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert secret.encode() not in b"".join(r.content for r in responses)
    assert list(ApiToken.objects.values_list("name", "revoked_at")) == [("CI", None)]


def test_a_token_of_another_organisation_cannot_be_revoked_by_id(org_b, admin):
    with tenant_context(org_b):
        b_admin = UserFactory.create(email="admin.tokens@beta.test", role=ORG_ADMIN)
        b_token, _ = api_token_create(actor=b_admin, name="Beta CI")

    response = post(api_client(admin), f"{V1}/tokens/{b_token.pk}/revoke/")

    assert response.status_code == 404
    with tenant_context(org_b):
        assert ApiToken.objects.get(pk=b_token.pk).revoked_at is None


def test_the_token_list_shows_whom_each_token_acts_as(token_admin):
    api_token_create(actor=token_admin, name="CI")

    response = api_client(token_admin).get(f"{V1}/tokens/")

    assert response.json()["results"][0]["user"]["email"] == "admin.tokens@alpha.test"


# Scope, expiry, who mints them, throttles -------------------------------------------------------------


def test_a_new_token_reads_only_and_expires_in_90_days_unless_asked_otherwise(admin):
    client = api_client(admin)

    created = post(client, f"{V1}/tokens/", {"name": "Dashboard export"})
    secret = created.json()["secret"]

    assert created.status_code == 201
    assert created.json()["scope"] == "read"
    expires_at = ApiToken.objects.get(name="Dashboard export").expires_at
    assert abs(expires_at - (timezone.now() + dt.timedelta(days=90))) < dt.timedelta(minutes=1)
    assert bearer(secret).get(f"{V1}/teams/").status_code == 200
    refused = post(bearer(secret), f"{V1}/teams/", {"name": "Written with a read token"})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "This token only reads: writing needs a token with write scope."}
    assert not Team.objects.filter(name="Written with a read token").exists()


def test_a_token_lives_a_year_at_most(admin):
    far = (timezone.now() + dt.timedelta(days=400)).isoformat()

    refused = post(
        api_client(admin), f"{V1}/tokens/", {"name": "Forever", "scope": "write", "expires_at": far}
    )

    assert refused.status_code == 400
    assert refused.json() == {"expires_at": ["A token expires within a year from now."]}
    assert not ApiToken.objects.filter(name="Forever").exists()


def test_an_expired_token_is_refused_with_401_and_a_sentence(admin):
    token, secret = api_token_create(actor=admin, name="Old", scope=ApiToken.Scope.WRITE)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    refused = bearer(secret).get(f"{V1}/teams/")

    assert refused.status_code == 401
    assert refused.json()["detail"].startswith("This token expired on ")


def test_a_token_cannot_mint_or_revoke_tokens_even_with_write_scope(admin):
    token, secret = api_token_create(actor=admin, name="CI", scope=ApiToken.Scope.WRITE)
    before = ApiToken.objects.count()

    minted = post(bearer(secret), f"{V1}/tokens/", {"name": "Child", "scope": "write"})
    revoked = post(bearer(secret), f"{V1}/tokens/{token.pk}/revoke/")

    assert (minted.status_code, revoked.status_code) == (403, 403)
    assert "signed in to the site" in minted.json()["detail"]
    assert ApiToken.objects.count() == before
    token.refresh_from_db()
    assert token.revoked_at is None
    assert bearer(secret).get(f"{V1}/tokens/").status_code == 200


def test_a_client_guessing_tokens_is_paused_even_with_a_valid_one(admin):
    _, secret = api_token_create(actor=admin, name="CI")
    guesser = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}", REMOTE_ADDR="198.51.100.9")

    answers = [
        guesser.get(f"{V1}/teams/", HTTP_AUTHORIZATION=f"Bearer cra_guess-{i}").status_code for i in range(20)
    ]
    paused = guesser.get(f"{V1}/teams/", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert answers == [401] * 20
    assert paused.status_code == 429
    assert paused["Retry-After"] == "900"
    assert "Too many invalid tokens" in paused.json()["detail"]
    other = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}", REMOTE_ADDR="203.0.113.30")
    assert other.get(f"{V1}/teams/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200


def test_each_token_and_each_client_has_a_request_rate(admin, monkeypatch):
    from core.throttles import ClientRateThrottle, TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "rate", "3/min", raising=False)
    monkeypatch.setattr(ClientRateThrottle, "rate", "5/min", raising=False)
    _, first = api_token_create(actor=admin, name="First")
    _, second = api_token_create(actor=admin, name="Second")
    client = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}", REMOTE_ADDR="198.51.100.10")

    def get(secret: str) -> int:
        return client.get(f"{V1}/teams/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code

    assert [get(first) for _ in range(4)] == [200, 200, 200, 429]
    assert get(second) == 200  # its own rate, until the client's own rate is reached
    throttled = client.get(f"{V1}/teams/", HTTP_AUTHORIZATION=f"Bearer {second}")
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
