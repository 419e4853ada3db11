"""What the participants tests share: a company that lists its e-mail domains, its join links, an
empty cache, and the participant's client for the participant pages."""

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from participants import services
from participants.models import JoinLink
from tenants.models import Organization
from tests.factories import ChallengeFactory


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """The rate-limit counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def company(org_a: Organization) -> Organization:
    # Stored as typed by an admin: the comparison ignores case.
    org_a.allowed_email_domains = ["Alpha.test", "alpha-partners.test"]
    org_a.save(update_fields=["allowed_email_domains"])
    return org_a


@pytest.fixture
def org_link(company: Organization, admin: User) -> JoinLink:
    return services.join_link_create(actor=admin, label="Intranet home")


@pytest.fixture
def challenge_link(company: Organization, admin: User) -> JoinLink:
    challenge = ChallengeFactory.create(title="Bike to work")
    return services.join_link_create(actor=admin, challenge_id=challenge.pk, label="Bike week")


@pytest.fixture
def client(participant_client: Client) -> Client:
    """Organisation A's host, signed in as the participant: the client of the participant pages."""
    return participant_client
