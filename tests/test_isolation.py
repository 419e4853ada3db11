"""Walks every URL pattern of the organisation URL conf as a person of another organisation.

Signed in as a user of organisation A, on organisation B's host, with A's object ids in the URL,
no page may answer 500 nor show anything of A. New URL patterns are covered as they are added: the
walk reads the URL conf, and a pattern whose arguments it cannot fill fails the test.
"""

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN
from challenges.models import Team
from tenants.models import Organization
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET_MARK = "alpha-private-7f3c"


def _patterns(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def _fill(route: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in values:
            raise AssertionError(f"The isolation walk does not know how to fill <{name}> in {route!r}")
        return values[name]

    path = re.sub(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>", replace, route)
    if path.startswith("^"):
        raise AssertionError(f"Regex routes are not walked: {route!r}")
    return "/" + path


def _tenant_paths(values: dict[str, str]) -> list[str]:
    return [_fill(route, values) for route in _patterns(get_resolver("config.urls_tenants"))]


def _walk(client: Client, paths: list[str]) -> None:
    for path in paths:
        for method in ("get", "post"):
            response = getattr(client, method)(path, follow=False)
            assert response.status_code < 500, f"{method.upper()} {path} answered {response.status_code}"
            assert SECRET_MARK.encode() not in response.content, f"{method.upper()} {path} showed A's data"


@pytest.fixture
def intruder(org_a: Organization) -> tuple[User, dict[str, str]]:
    """A user of organisation A, an admin, with A's objects and their ids."""
    with tenant_context(org_a):
        user = UserFactory.create(email="intruder@alpha.test", display_name=SECRET_MARK, role=ORG_ADMIN)
        team = TeamFactory.create(name=f"Team {SECRET_MARK}", captain=user)
    values = {
        "pk": str(team.pk),
        "id": str(team.pk),
        "team_id": str(team.pk),
        "challenge_id": str(team.pk),
        "token_id": str(team.pk),
        "user_id": str(user.pk),
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": "set-password",
        "secret": "no-such-sign-in-secret",
    }
    return user, values


def test_a_session_of_organisation_a_means_nothing_on_organisation_b(org_a, intruder, client_a, client_b):
    user, values = intruder
    with tenant_context(org_a):
        client_a.force_login(user)
    client_b.cookies["sessionid"] = client_a.cookies["sessionid"].value
    paths = _tenant_paths(values)
    assert "/account/sign-in/" in paths

    _walk(client_b, paths)

    with tenant_context(org_a):
        assert Team.objects.filter(name__contains=SECRET_MARK).count() == 1


def test_a_forged_session_with_a_user_id_of_organisation_a_is_refused_on_b(org_b, intruder, client_b):
    """Even a session row in B's schema naming A's user id (which B also uses) signs nobody in."""
    user, values = intruder
    with tenant_context(org_b):
        namesake = UserFactory.create(pk=user.pk, email="namesake@beta.test", role=ORG_ADMIN)
        client_b.force_login(user)  # B's session store, A's user id and password hash

    _walk(client_b, _tenant_paths(values))

    response = client_b.get("/")
    assert namesake.get_short_name().encode() not in response.content
    assert not response.wsgi_request.user.is_authenticated
