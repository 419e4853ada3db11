"""People of organisation A with the addresses and names that some API answers are checked against.

Every other API test uses the shared admin, executive and participant of tests/conftest.py.
"""

from typing import Any

import pytest

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from tests.factories import UserFactory


@pytest.fixture
def ada_admin(in_org_a: Any) -> User:
    """An admin whose address and name ("Ada Admin") the answers about her are checked against."""
    return UserFactory.create(email="admin.api@alpha.test", display_name="Ada Admin", role=ORG_ADMIN)


@pytest.fixture
def eve_executive(in_org_a: Any) -> User:
    """An executive whose address the answers are checked against."""
    return UserFactory.create(email="exec.api@alpha.test", display_name="Eve Exec", role=EXECUTIVE)


@pytest.fixture
def pat_participant(in_org_a: Any) -> User:
    """A participant whose address and name ("Pat Part") the answers about him are checked against."""
    return UserFactory.create(email="pat.api@alpha.test", display_name="Pat Part", role=PARTICIPANT)


@pytest.fixture
def other_participant(in_org_a: Any) -> User:
    """A second participant, Olga, whose address and name must not show to the first."""
    return UserFactory.create(email="olga.api@alpha.test", display_name="Olga Other", role=PARTICIPANT)
