"""Test set-up: the real PostgreSQL, two organisations built once per run, data rolled back per test.

The organisations `alpha` and `beta` are provisioned once (schema, domain, roles, admin) and kept for
the whole run; every test that touches the database runs inside a transaction that is rolled back,
in the organisation's schema when it asks for one. That is the fast tenant test case: one schema per
organisation, data gone after each test.

People of organisation A, one per role, and organisation A's host signed in as each of them, are here
for every test; the factories that make anyone else are in tests/factories.py.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.test import Client
from django.test.utils import setup_databases, teardown_databases
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from core import ratelimit
from tenants.db import tenant_connection
from tenants.models import Organization
from tenants.services import organization_create
from tests.factories import UserFactory

ORGANIZATIONS = {
    "alpha": {"name": "Alpha Corp", "kind": "company", "admin_email": "admin@alpha.test", "locale": "en"},
    "beta": {"name": "Beta Town", "kind": "municipality", "admin_email": "admin@beta.test", "locale": "fr"},
}


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment: None, django_db_blocker: Any) -> Iterator[None]:
    """Create the test database for every run, even one whose tests all commit for real.

    pytest-django only creates it when some test carries the django_db mark; the tests that need
    committed data (a real worker, concurrent connections) do not, as their flush would empty the
    public schema.
    """
    with django_db_blocker.unblock():
        databases = setup_databases(verbosity=0, interactive=False, aliases={"default": {}})
        for slug, fields in ORGANIZATIONS.items():
            organization_create(slug=slug, **fields)
    yield
    with django_db_blocker.unblock():
        teardown_databases(databases, verbosity=0)


def _organization(slug: str) -> Organization:
    tenant_connection().set_schema_to_public()
    return Organization.objects.get(schema_name=slug)


@pytest.fixture
def org_a(db: None) -> Organization:
    return _organization("alpha")


@pytest.fixture
def org_b(db: None) -> Organization:
    return _organization("beta")


@pytest.fixture
def in_org_a(org_a: Organization) -> Iterator[Organization]:
    """Run the test body in organisation A's schema."""
    with tenant_context(org_a):
        yield org_a


@pytest.fixture
def client_a(org_a: Organization) -> Client:
    return Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}")


@pytest.fixture
def client_b(org_b: Organization) -> Client:
    return Client(HTTP_HOST=f"beta.{settings.BASE_DOMAIN}")


@pytest.fixture
def public_client(db: None) -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN)


@pytest.fixture
def admin(in_org_a: Organization) -> User:
    """An organisation admin of A, Harriet HR (hr@alpha.test), besides the one provisioning made."""
    return UserFactory.create(email="hr@alpha.test", display_name="Harriet HR", role=ORG_ADMIN)


@pytest.fixture
def executive(in_org_a: Organization) -> User:
    """An executive of A (ceo@alpha.test): reads the dashboards, writes nothing."""
    return UserFactory.create(email="ceo@alpha.test", role=EXECUTIVE)


@pytest.fixture
def participant(in_org_a: Organization) -> User:
    """A participant of A, Paula Pledger (paula@alpha.test), her name hidden as by default."""
    return UserFactory.create(email="paula@alpha.test", display_name="Paula Pledger", role=PARTICIPANT)


@pytest.fixture
def admin_client(client_a: Client, admin: User) -> Client:
    """Organisation A's host, signed in as the admin."""
    client_a.force_login(admin)
    return client_a


@pytest.fixture
def executive_client(client_a: Client, executive: User) -> Client:
    """Organisation A's host, signed in as the executive."""
    client_a.force_login(executive)
    return client_a


@pytest.fixture
def participant_client(client_a: Client, participant: User) -> Client:
    """Organisation A's host, signed in as the participant."""
    client_a.force_login(participant)
    return client_a


@pytest.fixture(autouse=True)
def _rate_limits_from_zero_and_still(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no request counted, in a rate-limit window that does not end under it."""
    started = time.time()
    monkeypatch.setattr(ratelimit, "clock", lambda: started)
    for alias in ("default", "shared"):
        caches[alias].clear()
