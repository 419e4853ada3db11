"""How often an address and a client may ask for a link, per organisation and across them, and which
client address is believed behind a proxy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.test import TestCase
from django_tenants.utils import tenant_context

from accounts.roles import ORG_ADMIN, PARTICIPANT
from core import ratelimit
from core.http import client_address
from participants import services
from participants.models import SignInLink
from tests.factories import UserFactory
from tests.participants.support import _join, _page

pytestmark = pytest.mark.django_db


# Rate limits -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("known", [True, False])
def test_one_address_may_ask_five_times_in_fifteen_minutes_known_or_not(client_a, org_link, known):
    if known:
        UserFactory.create(email="nora@alpha.test", role=PARTICIPANT)
    assert ratelimit.PER_ADDRESS.requests == 5
    assert ratelimit.PER_ADDRESS.seconds == 15 * 60

    statuses = [
        _join(client_a, org_link, email).status_code
        for email in [
            "nora@alpha.test",
            "NORA@alpha.test",
            "nora@alpha.test",
            "nora@alpha.test",
            "nora@alpha.test",
        ]
    ]
    limited = _join(client_a, org_link, "nora@alpha.test")

    assert statuses == [302] * 5
    assert limited.status_code == 429
    assert limited["Retry-After"] == "900"
    assert "Too many requests" in _page(limited)
    assert SignInLink.objects.count() == 5
    assert len(mail.outbox) == 5
    # Another address from the same client still gets through
    assert _join(client_a, org_link, "other@alpha.test").status_code == 302


def test_one_client_may_ask_a_limited_number_of_times_whatever_the_addresses(client_a, org_link, monkeypatch):
    monkeypatch.setattr(
        ratelimit, "PER_CLIENT", ratelimit.Limit("client", requests=3, seconds=900, requests_everywhere=300)
    )

    statuses = [_join(client_a, org_link, f"person{i}@alpha.test").status_code for i in range(3)]
    # A refused or malformed request counts too: probing costs the same as asking
    limited = client_a.post(f"/join/{org_link.token}/", {"email": "x"})

    assert statuses == [302] * 3
    assert limited.status_code == 429
    assert SignInLink.objects.count() == 3
    # Another client is not held back
    assert _join(client_a, org_link, "someone@alpha.test", REMOTE_ADDR="192.0.2.7").status_code == 302


def test_the_limits_of_one_organisation_do_not_touch_another(
    client_a, client_b, org_b, org_link, monkeypatch
):
    monkeypatch.setattr(
        ratelimit, "PER_CLIENT", ratelimit.Limit("client", requests=1, seconds=900, requests_everywhere=300)
    )
    with tenant_context(org_b):
        beta_link = services.join_link_create(actor=UserFactory.create(email="m@beta.test", role=ORG_ADMIN))

    assert _join(client_a, org_link, "a@alpha.test").status_code == 302
    assert _join(client_a, org_link, "b@alpha.test").status_code == 429
    assert _join(client_b, beta_link, "c@mail.example").status_code == 302


def test_the_client_address_believes_x_forwarded_for_only_from_a_trusted_proxy(rf, settings):
    settings.TRUSTED_PROXY_IPS = ["10.0.0.0/8", "fd00::/8"]
    through_proxy = rf.get("/", REMOTE_ADDR="10.2.3.4", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.5")
    two_proxies = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5, 10.9.9.9")
    direct = rf.get("/", REMOTE_ADDR="203.0.113.77", HTTP_X_FORWARDED_FOR="198.51.100.9")
    forged = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    ipv6 = rf.get("/", REMOTE_ADDR="fd00::1", HTTP_X_FORWARDED_FOR="2001:db8::7")

    assert client_address(through_proxy) == "203.0.113.5"
    assert client_address(two_proxies) == "203.0.113.5"
    assert client_address(direct) == "203.0.113.77"
    assert client_address(forged) == "10.0.0.1"
    assert client_address(ipv6) == "2001:db8::7"


def test_behind_a_trusted_proxy_one_busy_visitor_does_not_close_the_page_for_the_others(
    client_a, org_link, settings, monkeypatch
):
    """The documented container set-up: every request comes from the proxy's address."""
    settings.TRUSTED_PROXY_IPS = ["172.16.0.0/12"]
    monkeypatch.setattr(
        ratelimit, "PER_CLIENT", ratelimit.Limit("client", requests=3, seconds=900, requests_everywhere=300)
    )
    proxy = {"REMOTE_ADDR": "172.18.0.5"}

    busy = [
        _join(client_a, org_link, f"busy{i}@alpha.test", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
        for i in range(4)
    ]
    other = _join(client_a, org_link, "other@alpha.test", HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy)

    assert [answer.status_code for answer in busy] == [302, 302, 302, 429]
    assert other.status_code == 302


def test_gunicorn_trusts_the_same_proxies(monkeypatch):
    import runpy

    monkeypatch.setenv("TRUSTED_PROXY_IPS", "10.0.0.0/8, 192.0.2.10")
    config = runpy.run_path(str(Path(settings.BASE_DIR) / "deploy" / "gunicorn.conf.py"))

    assert config["forwarded_allow_ips"] == "10.0.0.0/8,192.0.2.10"
    checked = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--check-config",
            "-c",
            str(Path(settings.BASE_DIR) / "deploy" / "gunicorn.conf.py"),
            "config.wsgi:application",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TRUSTED_PROXY_IPS": "10.0.0.0/8, 192.0.2.10"},
        cwd=settings.BASE_DIR,
    )
    assert checked.returncode == 0, checked.stderr


def test_limits_count_across_organisations_too(client_a, client_b, org_a, org_b, monkeypatch):
    """One client spreading its requests over many organisations is still one client."""
    monkeypatch.setattr(
        ratelimit, "PER_CLIENT", ratelimit.Limit("client", requests=100, seconds=900, requests_everywhere=3)
    )
    for organization in (org_a, org_b):
        organization.allowed_email_domains = ["example.org"]
        organization.save(update_fields=["allowed_email_domains"])

    answers = [
        client.post("/account/email-link/", {"email": f"p{i}@example.org"}).status_code
        for i, client in enumerate([client_a, client_b, client_a, client_b])
    ]

    assert answers == [302, 302, 302, 429]


def test_one_address_is_limited_across_organisations_too(
    client_a, client_b, org_a, org_b, org_link, monkeypatch
):
    """One address asking sign-in links and join e-mails of several organisations is still one
    mailbox to keep from being flooded."""
    monkeypatch.setattr(
        ratelimit, "PER_ADDRESS", ratelimit.Limit("address", requests=100, seconds=900, requests_everywhere=3)
    )
    for organization in (org_a, org_b):
        with tenant_context(organization):
            organization.allowed_email_domains = ["example.org"]
            organization.save(update_fields=["allowed_email_domains"])
    with tenant_context(org_b):
        UserFactory.create(email="nora@example.org", role=PARTICIPANT)

    def email_link(client, email):
        with TestCase.captureOnCommitCallbacks(execute=True):
            return client.post("/account/email-link/", {"email": email})

    answers = [
        _join(client_a, org_link, "nora@example.org").status_code,
        email_link(client_b, "Nora@example.org").status_code,
        email_link(client_a, "nora@example.org").status_code,
    ]
    limited_here = email_link(client_b, "nora@example.org")
    limited_there = _join(client_a, org_link, "nora@example.org")

    # Three requests across the two organisations, then neither sends more
    assert answers == [302, 302, 302]
    assert [limited_here.status_code, limited_there.status_code] == [429, 429]
    assert limited_here["Retry-After"] == "900"
    assert "Too many requests" in _page(limited_there)
    assert len(mail.outbox) == 2  # the join e-mail of A and the sign-in link of B, nothing after
    # Another address still gets through, in either organisation
    assert email_link(client_b, "other@example.org").status_code == 302
    assert _join(client_a, org_link, "other@example.org").status_code == 302
