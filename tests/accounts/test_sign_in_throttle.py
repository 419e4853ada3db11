"""Password sign-in is throttled per account and client (django-axes): 10 failures, then 429 for 15
minutes even with the right password, while other clients still sign in."""

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
ATTACKER, COLLEAGUE = "198.51.100.7", "203.0.113.20"


def _sign_in(client: Client, path: str, email: str, password: str):
    return client.post(path, {"username": email, "password": password})


def _signed_in(client: Client, path: str) -> bool:
    """Whether the client's session signs it in: the page behind sign-in answers 200, not a redirect."""
    return client.get(path).status_code == 200


@pytest.mark.parametrize("host", ["alpha", "public"])
def test_ten_failures_pause_that_client_for_that_account_even_with_the_right_password(org_a, host):
    if host == "alpha":
        with tenant_context(org_a):
            UserFactory.create(email="admin.throttle@alpha.test", role=ORG_ADMIN)
        host_name, path, private = f"alpha.{settings.BASE_DOMAIN}", "/account/sign-in/", "/manage/challenges/"
    else:
        User.objects.create_superuser(email="admin.throttle@alpha.test", password=PASSWORD)
        host_name, path, private = settings.BASE_DOMAIN, "/admin/login/", "/admin/"
    attacker = Client(HTTP_HOST=host_name, REMOTE_ADDR=ATTACKER)
    colleague = Client(HTTP_HOST=host_name, REMOTE_ADDR=COLLEAGUE)

    answers = [_sign_in(attacker, path, "admin.throttle@alpha.test", f"guess-{i}") for i in range(10)]
    right = _sign_in(attacker, path, "Admin.Throttle@alpha.test", PASSWORD)

    assert [a.status_code for a in answers[:9]] == [200] * 9
    assert answers[9].status_code == 429
    assert right.status_code == 429
    assert right["Retry-After"] == "900"
    assert "paused for 15 minutes, even with the right password" in right.content.decode()
    assert not _signed_in(attacker, private)
    # Another client is not locked out: the real person still signs in.
    assert _sign_in(colleague, path, "admin.throttle@alpha.test", PASSWORD).status_code == 302
    assert _signed_in(colleague, private)


def test_failures_for_one_account_do_not_pause_another(org_a):
    with tenant_context(org_a):
        UserFactory.create(email="one@alpha.test", role=ORG_ADMIN)
        UserFactory.create(email="two@alpha.test", role=ORG_ADMIN)
    client = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}", REMOTE_ADDR=ATTACKER)
    for i in range(10):
        _sign_in(client, "/account/sign-in/", "one@alpha.test", f"guess-{i}")

    assert _sign_in(client, "/account/sign-in/", "two@alpha.test", PASSWORD).status_code == 302
