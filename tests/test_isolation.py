"""Walks every URL pattern of the organisation URL conf as a person of another organisation.

Signed in as a user of organisation A, on organisation B's host, with A's object ids in the URL,
no page may answer 500 nor show anything of A. New URL patterns are covered as they are added: the
walk reads the URL conf, and a pattern whose arguments it cannot fill fails the test.
"""

import re
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
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
PUBLIC_URLCONF = "config.urls_public"


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
        "name": "logo-0123456789abcdef.png",
        "person_id": str(user.pk),
        "report_id": str(team.pk),
        "share_id": str(team.pk),
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


# Odd values in every path parameter ------------------------------------------------------------------

ODD_VALUES = [
    "%00",
    "a%00b",
    "9" * 40,
    "-1",
    "0",
    "%C3%A9t%C3%A9%F0%9F%9A%B2",
    "x" * 3000,
    "..%2F..%2Fetc",
    "%FF",
]


def _odd_paths(urlconf: str) -> list[str]:
    """Every route of the URL conf, each parameter given each odd value (the others a plain one)."""
    paths = []
    for route in _patterns(get_resolver(urlconf)):
        names = re.findall(r"<(?:\w+:)?(\w+)>", route)
        for name in names:
            for odd in ODD_VALUES:
                values = dict.fromkeys(names, "1")
                values[name] = odd
                paths.append(_fill(route, values))
    return sorted(set(paths))


@pytest.fixture
def organisation_admin(org_a: Organization, client_a: Client) -> Client:
    with tenant_context(org_a):
        client_a.force_login(UserFactory.create(email="odd.admin@alpha.test", role=ORG_ADMIN))
    return client_a


def test_odd_path_values_never_make_an_organisation_page_fail(organisation_admin, client_b):
    paths = _odd_paths("config.urls_tenants")
    assert len(paths) > 100

    for client in (organisation_admin, client_b):  # signed in as an admin, and anonymous
        for path in paths:
            for method in ("get", "post"):
                response = getattr(client, method)(path, follow=False)
                assert response.status_code < 500, f"{method.upper()} {path} answered {response.status_code}"


# The public site, signed in as a platform operator -------------------------------------------------


def _public_paths() -> list[str]:
    """The public URL conf's own routes (the admin's are walked model by model below)."""
    routes = [r for r in _patterns(get_resolver("config.urls_public")) if not r.startswith("admin/")]
    return [_fill(route, {}) for route in routes]


def _admin_paths() -> list[str]:
    """Every admin list, add, change, history and delete page, for a real object and odd ids."""
    paths = [reverse("admin:index", urlconf=PUBLIC_URLCONF)]
    for model in admin.site._registry:
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        paths += [
            reverse(f"admin:{info}_changelist", urlconf=PUBLIC_URLCONF),
            reverse(f"admin:{info}_add", urlconf=PUBLIC_URLCONF),
        ]
        first = model._default_manager.order_by("pk").first()
        object_ids = [str(first.pk)] if first is not None else []
        for object_id in [*object_ids, *ODD_VALUES]:
            for page in ("change", "history", "delete"):
                url = reverse(f"admin:{info}_{page}", args=["0"], urlconf=PUBLIC_URLCONF)
                paths.append(url.replace("/0/", f"/{object_id}/", 1))
    return paths


@pytest.fixture
def operator(public_client: Client) -> Client:
    public_client.force_login(
        User.objects.create_superuser(email="operator.walk@crowdact.test", password="operator-pass-123")
    )
    return public_client


def test_an_operator_opens_every_public_page_and_every_admin_page(operator, org_a):
    paths = _public_paths() + _admin_paths()
    assert any("/tenants/organization/" in path and "/change/" in path for path in paths)

    for path in paths:
        for method in ("get", "post"):
            response = getattr(operator, method)(path, follow=False)
            assert response.status_code < 500, f"{method.upper()} {path} answered {response.status_code}"
    assert Organization.objects.filter(schema_name="alpha", is_active=True).exists()
