"""Signing in with a one-time link: used, expired, revoked or foreign links sign nobody in, and a
returning participant gets a link from the sign-in page."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import PARTICIPANT
from participants import services
from participants.models import JoinLink, SignInLink
from participants.services import SignInRefused
from participants.views_access import SESSION_EMAIL_KEY
from tests.factories import UserFactory
from tests.participants.support import _join, _page, _sign_in_link_from, _state

pytestmark = pytest.mark.django_db


# Refused sign-in links ---------------------------------------------------------------------------


@pytest.fixture
def asked(client_a: Client, org_link: JoinLink) -> str:
    """The path of a sign-in link just e-mailed to nora@alpha.test."""
    _join(client_a, org_link, "nora@alpha.test")
    return _sign_in_link_from(mail.outbox[0])["path"]


def test_a_used_sign_in_link_is_refused_with_a_clear_page(client_a, asked, org_link):
    assert client_a.post(asked).status_code == 302
    other = Client(HTTP_HOST="alpha.localhost")
    before = _state()

    for method in ("get", "post"):
        response = getattr(other, method)(asked)

        assert response.status_code == 410
        page = _page(response)
        assert "This sign-in link has already been used" in page
        assert f'href="/join/{org_link.token}/"' in page  # ask for a new one
        assert "_auth_user_id" not in other.session
    assert _state() == before


def test_two_clicks_at_once_sign_in_once(asked, monkeypatch):
    # Given two requests that both found the link unused
    secret = asked.rstrip("/").rsplit("/", 1)[1]
    stale = services.sign_in_link_check(secret)
    services.sign_in_consume(secret=secret)
    monkeypatch.setattr(services, "sign_in_link_check", lambda secret: stale)

    # When the second one consumes it, then its UPDATE finds it used
    with pytest.raises(SignInRefused) as refusal:
        services.sign_in_consume(secret=secret)
    assert refusal.value.reason == SignInRefused.Reason.USED
    assert User.objects.filter(email="nora@alpha.test").count() == 1


def test_an_expired_sign_in_link_is_refused_and_signs_nobody_in(client_a, asked, org_link):
    SignInLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    before = _state()

    for method in ("get", "post"):
        response = getattr(client_a, method)(asked)

        assert response.status_code == 410
        assert "This sign-in link has expired" in _page(response)
    assert _state() == before
    assert "_auth_user_id" not in client_a.session
    assert not User.objects.filter(email="nora@alpha.test").exists()


def test_a_sign_in_link_of_organisation_a_signs_nobody_in_on_organisation_b(org_a, org_b, client_b, asked):
    client_b.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # Beta speaks French; the test reads English
    for method in ("get", "post"):
        response = getattr(client_b, method)(asked)

        assert response.status_code == 404
        assert "This sign-in link does not exist" in _page(response)
    with tenant_context(org_b):
        assert not User.objects.filter(email="nora@alpha.test").exists()
    with tenant_context(org_a):
        assert SignInLink.objects.get().used_at is None
    assert "_auth_user_id" not in client_b.session


def test_a_sign_in_link_whose_join_link_was_revoked_meanwhile_is_refused(client_a, asked, admin, org_link):
    services.join_link_revoke(actor=admin, join_link_id=org_link.pk)

    response = client_a.post(asked)

    assert response.status_code == 410
    assert "This sign-in link has been withdrawn" in _page(response)
    assert not User.objects.filter(email="nora@alpha.test").exists()


def test_a_sign_in_link_whose_join_link_expired_meanwhile_is_refused(client_a, asked, org_link):
    JoinLink.objects.filter(pk=org_link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = client_a.post(asked)

    assert response.status_code == 410
    assert "This sign-in link has been withdrawn" in _page(response)
    assert not User.objects.filter(email="nora@alpha.test").exists()


def test_the_typed_address_lives_in_the_session_no_longer_than_the_link(client_a, org_link):
    _join(client_a, org_link, "nora@alpha.test")

    # A visitor's session, holding the address for the "check your inbox" page, ends with the link
    session = client_a.session
    assert session[SESSION_EMAIL_KEY] == "nora@alpha.test"
    assert 14 * 60 <= session.get_expiry_age() <= 15 * 60
    # Signed in, the session forgets the address and lasts the usual idle time
    path = _sign_in_link_from(mail.outbox[0])["path"]
    assert client_a.post(path).status_code == 302
    session = client_a.session
    assert SESSION_EMAIL_KEY not in session
    assert session.get_expiry_age() == settings.SESSION_COOKIE_AGE


@pytest.mark.parametrize("closed", ["inactive", "erased"])
def test_a_closed_account_is_not_signed_in(client_a, org_link, closed):
    UserFactory.create(
        email="gone@alpha.test",
        is_active=closed != "inactive",
        erased_at=timezone.now() if closed == "erased" else None,
    )
    _join(client_a, org_link, "gone@alpha.test")

    response = client_a.post(_sign_in_link_from(mail.outbox[0])["path"])

    assert response.status_code == 403
    assert "This account is closed" in _page(response)
    assert "_auth_user_id" not in client_a.session


def test_an_unknown_secret_gets_a_clear_page(client_a, company):
    response = client_a.get("/account/sign-in/not-a-real-secret/")

    assert response.status_code == 404
    assert "This sign-in link does not exist" in _page(response)


class TestReturningParticipant:
    """Someone who joined earlier signs in again from the sign-in page: no password, a link by e-mail."""

    def test_a_known_address_gets_a_link_that_signs_in(
        self, org_a, client_a, django_capture_on_commit_callbacks
    ):
        with tenant_context(org_a):
            person = UserFactory.create(email="back@alpha.example", role=PARTICIPANT)
        org_a.allowed_email_domains = ["alpha.example"]
        org_a.save(update_fields=["allowed_email_domains"])

        assert b"/account/email-link/" in client_a.get("/account/sign-in/").content
        with django_capture_on_commit_callbacks(execute=True):
            response = client_a.post("/account/email-link/", {"email": "Back@alpha.example"})

        assert response.status_code == 302
        link = re.search(r"http://alpha\.localhost(/account/sign-in/[^/\s]+/)", str(mail.outbox[-1].body))
        assert link, mail.outbox[-1].body
        signed_in = client_a.post(link.group(1), follow=True)
        assert signed_in.wsgi_request.user.pk == person.pk

    def test_unknown_addresses_get_the_same_answer_and_no_e_mail_is_sent(
        self, org_a, client_a, django_capture_on_commit_callbacks
    ):
        # Given a company, one person who joined, and a client asking links for many strangers
        org_a.allowed_email_domains = ["alpha.example"]
        org_a.save(update_fields=["allowed_email_domains"])
        with tenant_context(org_a):
            UserFactory.create(email="known@alpha.example", role=PARTICIPANT)
            before = (User.objects.count(), SignInLink.objects.count())
        mail.outbox = []

        # When it asks 120 times
        with django_capture_on_commit_callbacks(execute=True):
            answers = [
                client_a.post("/account/email-link/", {"email": f"stranger{i}@alpha.example"})
                for i in range(120)
            ]

        # Then nobody was mailed and nothing was written; the answer is the known address's
        assert mail.outbox == []
        with tenant_context(org_a):
            assert (User.objects.count(), SignInLink.objects.count()) == before
        assert {(a.status_code, a.get("Location")) for a in answers[:100]} == {
            (302, "/account/email-link/sent/")
        }
        assert {a.status_code for a in answers[100:]} == {429}
        stranger_page = client_a.get("/account/email-link/sent/").content.decode()
        known = Client(HTTP_HOST="alpha.localhost", REMOTE_ADDR="203.0.113.40")
        with django_capture_on_commit_callbacks(execute=True):
            answer = known.post("/account/email-link/", {"email": "known@alpha.example"})
        assert (answer.status_code, answer["Location"]) == (302, "/account/email-link/sent/")
        assert len(mail.outbox) == 1
        known_page = known.get("/account/email-link/sent/").content.decode()
        assert _without_addresses(stranger_page) == _without_addresses(known_page)


def _without_addresses(page: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"|nonce="[^"]+"|[\w.+-]+@alpha\.example', "", page)
