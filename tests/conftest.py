"""Test set-up: the real PostgreSQL, two organisations built once per run, data rolled back per test.

The organisations `alpha` and `beta` are provisioned once (schema, domain, roles, admin) and kept for
the whole run; every test that touches the database runs inside a transaction that is rolled back,
in the organisation's schema when it asks for one. That is the fast tenant test case: one schema per
organisation, data gone after each test.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.db import tenant_connection
from tenants.models import Organization
from tenants.services import organization_create

ORGANIZATIONS = {
    "alpha": {"name": "Alpha Corp", "kind": "company", "admin_email": "admin@alpha.test", "locale": "en"},
    "beta": {"name": "Beta Town", "kind": "municipality", "admin_email": "admin@beta.test", "locale": "fr"},
}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        for slug, fields in ORGANIZATIONS.items():
            if not Organization.objects.filter(schema_name=slug).exists():
                organization_create(slug=slug, **fields)


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
