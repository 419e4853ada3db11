"""Joining through a link: the join page, the one-time sign-in link, the limits, and the admins' pages.

Organisation A ("alpha") is a company that accepts @alpha.test addresses, in English; organisation B
("beta") is a municipality, in French, that accepts any address.
"""

import datetime as dt
import html
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.test import Client, TestCase
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from challenges.models import Challenge
from core import ratelimit
from core.http import client_address
from participants import services
from participants.models import JoinLink, SignInLink
from participants.services import JoinRefused, SignInRefused
from participants.tasks import sign_in_link_send
from participants.views_access import SESSION_EMAIL_KEY
from tenants.models import Organization
from tests.factories import ChallengeFactory, UserFactory, coming_year_of

pytestmark = pytest.mark.django_db

# Dates within the coming year: one in summer time (June, July).
SUMMER = coming_year_of(6, 1)

SIGN_IN_URL = re.compile(r"http://(?P<host>[\w.]+)(?P<path>/account/sign-in/(?P<secret>[\w-]+)/)")
# Seven queries on every manager page (the host's organisation, the session, the user and their
# permissions), then the list's own: a count and one page of links with their challenges.
JOIN_LINK_LIST_QUERIES = 7 + 2


# Given ----------------------------------------------------------------------------------------------


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
def admin(company: Organization, in_org_a: Organization) -> User:
    return UserFactory.create(email="hr@alpha.test", display_name="Harriet HR", role=ORG_ADMIN)


@pytest.fixture
def admin_client(client_a: Client, admin: User) -> Client:
    client_a.force_login(admin)
    return client_a


@pytest.fixture
def org_link(admin: User) -> JoinLink:
    return services.join_link_create(actor=admin, label="Intranet home")


@pytest.fixture
def challenge_link(admin: User) -> JoinLink:
    challenge = ChallengeFactory.create(title="Bike to work")
    return services.join_link_create(actor=admin, challenge_id=challenge.pk, label="Bike week")


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _join(client: Client, join_link: JoinLink, email: str, name: str = "Nora New", **extra: Any) -> Any:
    """Post the join form; the e-mail task, sent on commit, runs (inline) as the request ends."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(f"/join/{join_link.token}/", {"email": email, "display_name": name}, **extra)


def _sign_in_link_from(message: mail.EmailMessage) -> re.Match[str]:
    match = SIGN_IN_URL.search(str(message.body))
    assert match is not None, message.body
    return match


def _state() -> dict[str, Any]:
    """Everything joining and the join-link pages may write, to assert that nothing changed."""
    return {
        "users": sorted(User.objects.values_list("email", "display_name", "is_active")),
        "sign_in_links": SignInLink.objects.count(),
        "used": SignInLink.objects.filter(used_at__isnull=False).count(),
        "join_links": list(
            JoinLink.objects.order_by("pk").values_list(
                "pk", "label", "challenge", "expires_at", "revoked_at"
            )
        ),
    }


# The whole journey ------------------------------------------------------------------------------------


def test_a_new_employee_joins_through_the_organisations_link_and_lands_home_signed_in(
    client_a, org_link, company
):
    # Given the organisation's join link, opened by someone new
    response = client_a.get(f"/join/{org_link.token}/")
    page = _page(response)
    assert response.status_code == 200
    assert "Join Alpha Corp on Crowdact" in page
    assert '<label for="id_email">' in page
    assert '<label for="id_display_name">' in page
    assert "@alpha.test" in page  # the page says which addresses are accepted
    assert "no password" in page

    # When they give their work address and a name
    response = _join(client_a, org_link, " Nora.New@ALPHA.test ")

    # Then they are told to check their inbox, and receive one link, in English
    assert response.status_code == 302
    assert response["Location"] == f"/join/{org_link.token}/sent/"
    page = _page(client_a.get(response["Location"]))
    assert "Check your inbox" in page
    assert "nora.new@alpha.test" in page
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nora.new@alpha.test"]
    assert message.subject == "Your sign-in link for Alpha Corp"
    link = _sign_in_link_from(message)
    assert link["host"] == "alpha.localhost"
    # Only the hash of the secret is stored, and nobody exists yet
    stored = SignInLink.objects.get()
    assert stored.key_hash == services.sign_in_secret_hash(link["secret"])
    assert link["secret"] not in stored.key_hash
    lifetime = stored.expires_at - stored.created_at
    assert dt.timedelta(minutes=15) - dt.timedelta(seconds=1) < lifetime <= dt.timedelta(minutes=15)
    assert not User.objects.filter(email="nora.new@alpha.test").exists()

    # When they open the link: a page with a button, and nothing used yet (mail scanners open links)
    response = client_a.get(link["path"])
    assert response.status_code == 200
    assert '<form method="post">' in _page(response)
    assert SignInLink.objects.get().used_at is None

    # And they press "Sign in"
    response = client_a.post(link["path"])

    # Then they are a participant, signed in, without a password, on the organisation's home page
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email="nora.new@alpha.test")
    assert user.display_name == "Nora New"
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [PARTICIPANT]
    assert client_a.session["_auth_user_id"] == str(user.pk)
    assert SignInLink.objects.get().used_at is not None


def test_a_challenge_link_lands_on_the_challenge(client_a, challenge_link):
    _join(client_a, challenge_link, "cyclist@alpha.test")
    link = _sign_in_link_from(mail.outbox[0])
    assert "Bike to work" in str(mail.outbox[0].body)
    assert "Bike to work" in _page(client_a.get(f"/join/{challenge_link.token}/"))

    response = client_a.post(link["path"])

    assert response.status_code == 302
    assert response["Location"] == f"/challenges/{challenge_link.challenge_id}/"


def test_a_person_who_already_joined_signs_in_the_same_way_as_the_same_person(client_a, org_link):
    # Given someone who joined before, under a name they chose
    known = UserFactory.create(email="bob@alpha.test", display_name="Bob", role=PARTICIPANT)
    before = User.objects.count()

    # When they come back through the link, with their address in other letters and another name
    _join(client_a, org_link, "BOB@Alpha.test", name="Robert")
    response = client_a.post(_sign_in_link_from(mail.outbox[0])["path"])

    # Then they are signed in as themselves; nobody new, nothing renamed
    assert response.status_code == 302
    assert client_a.session["_auth_user_id"] == str(known.pk)
    assert User.objects.count() == before
    known.refresh_from_db()
    assert known.display_name == "Bob"


def test_a_municipality_accepts_any_address_and_writes_in_french(org_b, client_b):
    # Given a resident of Beta (a municipality, in French) and its join link
    with tenant_context(org_b):
        admin = UserFactory.create(email="mairie@beta.test", role=ORG_ADMIN)
        join_link = services.join_link_create(actor=admin)

    # When they join with a personal address
    response = _join(client_b, join_link, "resident@mail.example", name="Rémi")

    # Then the link goes out in French, and signs them in
    assert response.status_code == 302
    message = mail.outbox[0]
    assert message.subject == "Votre lien de connexion à Beta Town"
    assert "Connectez-vous avec ce lien" in str(message.body)
    response = client_b.post(_sign_in_link_from(message)["path"])
    assert response.status_code == 302
    with tenant_context(org_b):
        assert User.objects.get(email="resident@mail.example").display_name == "Rémi"


def test_the_e_mail_follows_the_language_the_person_chose(client_a, org_link):
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    _join(client_a, org_link, "francophone@alpha.test")

    assert mail.outbox[0].subject == "Votre lien de connexion à Alpha Corp"


# Which addresses a company accepts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "someone@gmail.example",
        "someone@eu.alpha.test",  # a subdomain is another domain unless listed
        "someone@alpha.test.evil.example",
        "someone@notalpha.test",
    ],
)
def test_a_company_refuses_an_address_outside_its_domains_next_to_the_field(client_a, org_link, email):
    before = _state()

    response = _join(client_a, org_link, email)

    assert response.status_code == 200
    page = _page(response)
    assert "Use your work address, ending in @alpha-partners.test, @alpha.test." in page
    assert '<ul class="errorlist" id="id_email_error">' in page
    assert re.search(r'<input[^>]*aria-describedby="[^"]*id_email_error[^"]*"[^>]*id="id_email"', page)
    assert 'aria-invalid="true"' in page
    assert '<a href="#id_email">' in page  # the summary links to the field
    assert _state() == before
    assert mail.outbox == []


def test_a_refused_domain_and_a_missing_name_show_both_errors_at_once(client_a, org_link):
    response = _join(client_a, org_link, "someone@gmail.example", name="")

    page = _page(response)
    assert 'id="id_email_error"' in page
    assert 'id="id_display_name_error"' in page
    assert SignInLink.objects.count() == 0


@pytest.mark.parametrize("email", ["someone@ALPHA.TEST", "someone@alpha-partners.test"])
def test_a_company_accepts_each_of_its_domains_in_any_case(client_a, org_link, email):
    assert _join(client_a, org_link, email).status_code == 302
    assert len(mail.outbox) == 1


def test_a_company_without_domains_accepts_nobody_and_says_why(client_a, org_a, admin):
    org_a.allowed_email_domains = []
    org_a.save(update_fields=["allowed_email_domains"])
    join_link = services.join_link_create(actor=admin)

    response = _join(client_a, join_link, "someone@alpha.test")

    assert response.status_code == 200
    assert "has not set its e-mail domains yet" in _page(response)
    assert SignInLink.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not an address", "display_name": "Nora"}, "email"),
        ({"email": "", "display_name": "Nora"}, "email"),
        ({"email": "nora@alpha.test", "display_name": "   "}, "display_name"),
        ({"email": "nora@alpha.test", "display_name": "x" * 151}, "display_name"),
        ({}, "email"),
    ],
)
def test_a_bad_join_form_shows_the_error_next_to_the_field_and_changes_nothing(
    client_a, org_link, data, field
):
    before = _state()

    response = client_a.post(f"/join/{org_link.token}/", data)

    assert response.status_code == 200
    assert f'id="id_{field}_error"' in _page(response)
    assert _state() == before
    assert mail.outbox == []


# Refused join tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    ("case", "status", "text"),
    [
        ("unknown", 404, "This join link does not exist"),
        ("revoked", 410, "This join link has been withdrawn"),
        ("expired", 410, "This join link has expired"),
    ],
)
def test_a_join_token_that_opens_nothing_gets_a_clear_page(
    client_a, org_link, admin, method, case, status, text
):
    token = org_link.token
    if case == "unknown":
        token = "x" * 43
    elif case == "revoked":
        services.join_link_revoke(actor=admin, join_link_id=org_link.pk)
    else:
        JoinLink.objects.filter(pk=org_link.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    before = _state()

    for path in (f"/join/{token}/", f"/join/{token}/sent/"):
        response = getattr(client_a, method)(path, {"email": "nora@alpha.test", "display_name": "Nora"})
        if method == "post" and path.endswith("/sent/"):
            assert response.status_code == 405
            continue
        assert response.status_code == status, path
        assert text in _page(response)
    assert _state() == before
    assert mail.outbox == []


def test_join_link_check_says_why_a_token_is_refused(org_link, admin):
    assert services.join_link_check(org_link.token) == org_link
    with pytest.raises(JoinRefused) as refusal:
        services.join_link_check("nope")
    assert refusal.value.reason == JoinRefused.Reason.UNKNOWN
    services.join_link_revoke(actor=admin, join_link_id=org_link.pk)
    with pytest.raises(JoinRefused) as refusal:
        services.join_link_check(org_link.token)
    assert refusal.value.reason == JoinRefused.Reason.REVOKED


def test_a_join_token_of_organisation_a_opens_nothing_on_organisation_b(org_b, client_b, org_link):
    client_b.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # Beta speaks French; the test reads English

    response = client_b.get(f"/join/{org_link.token}/")

    assert response.status_code == 404
    assert "This join link does not exist" in _page(response)


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


# Nothing tells who is known ----------------------------------------------------------------------


def _without_per_response_secrets(text: str) -> str:
    """Without the CSRF token and the Content-Security-Policy nonce, which change on every response."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return re.sub(r'nonce="[^"]+"', "", text)


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(org_link):
    UserFactory.create(email="known@alpha.test", role=PARTICIPANT)
    answers = []
    for email in ("known@alpha.test", "unknown@alpha.test"):
        client = Client(HTTP_HOST="alpha.localhost")
        posted = _join(client, org_link, email)
        page = client.get(posted["Location"])
        answers.append(
            (
                posted.status_code,
                posted["Location"],
                page.status_code,
                _without_per_response_secrets(_page(page).replace(email, "@")),
            )
        )

    assert answers[0] == answers[1]
    # Both get a link: the known one to sign in, the unknown one to join
    assert [m.to for m in mail.outbox] == [["known@alpha.test"], ["unknown@alpha.test"]]


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


# The e-mail task ----------------------------------------------------------------------------------------


def test_the_e_mail_task_sends_once_and_only_the_link_it_was_made_for(org_link, company, in_org_a):
    with tenant_context(company):
        sign_in_link = SignInLink.objects.create(
            key_hash=services.sign_in_secret_hash("the-secret"),
            email="nora@alpha.test",
            join_link=org_link,
            expires_at=timezone.now() + dt.timedelta(minutes=15),
        )

        assert sign_in_link_send(sign_in_link.pk, "another-secret", "en") is False
        assert sign_in_link_send(sign_in_link.pk, "the-secret", "en") is True
        assert sign_in_link_send(sign_in_link.pk, "the-secret", "en") is False

    assert len(mail.outbox) == 1
    assert "/account/sign-in/the-secret/" in str(mail.outbox[0].body)


# Admins: join links -------------------------------------------------------------------------------


def test_an_admin_creates_an_organisation_wide_link_and_copies_it_from_the_list(admin_client, admin):
    response = admin_client.get("/manage/join-links/new/")
    assert response.status_code == 200
    assert "The whole organisation (its home page)" in _page(response)

    response = admin_client.post(
        "/manage/join-links/new/", {"label": "Intranet home", "challenge": "", "expires_at": ""}
    )

    assert response.status_code == 302
    assert response["Location"] == "/manage/join-links/"
    join_link = JoinLink.objects.get()
    assert (join_link.label, join_link.challenge, join_link.expires_at) == ("Intranet home", None, None)
    assert join_link.created_by == admin
    assert len(join_link.token) >= 43
    page = _page(admin_client.get("/manage/join-links/"))
    url = f"http://alpha.localhost/join/{join_link.token}/"
    assert f'value="{url}" readonly' in page
    assert f'<label for="join-link-url-{join_link.pk}"' in page
    assert 'class="copy-link"' in page
    assert "The whole organisation" in page
    assert "Active" in page
    assert 'aria-current="page">Join links' in page
    # The link works
    assert Client(HTTP_HOST="alpha.localhost").get(f"/join/{join_link.token}/").status_code == 200


def test_an_admin_creates_a_challenge_link_expiring_in_the_organisations_time_zone(admin_client, company):
    challenge = ChallengeFactory.create(title="Bike to work")

    response = admin_client.post(
        "/manage/join-links/new/",
        {"label": "Bike week", "challenge": str(challenge.pk), "expires_at": f"{SUMMER}-06-01T09:00"},
    )

    assert response.status_code == 302
    join_link = JoinLink.objects.get()
    assert join_link.challenge == challenge
    assert company.timezone == "Europe/Paris"
    assert join_link.expires_at == dt.datetime(SUMMER, 6, 1, 7, 0, tzinfo=dt.UTC)
    page = _page(admin_client.get("/manage/join-links/"))
    assert "Bike to work" in page
    assert f"June 1, {SUMMER}, 9 a.m." in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"expires_at": "2001-01-01T09:00"}, "expires_at", "The expiry must be in the future."),
        ({"expires_at": "tomorrow"}, "expires_at", "Enter a valid date/time."),
        ({"challenge": "999999"}, "challenge", "Select a valid choice."),
        ({"challenge": "cancelled"}, "challenge", "Select a valid choice."),
        ({"label": "x" * 121}, "label", "at most 120 characters"),
    ],
)
def test_a_bad_join_link_shows_the_error_next_to_the_field_and_changes_nothing(
    admin_client, data, field, message
):
    cancelled = ChallengeFactory.create(status=Challenge.Status.CANCELLED)
    if data.get("challenge") == "cancelled":
        data = {"challenge": str(cancelled.pk)}
    before = _state()

    response = admin_client.post("/manage/join-links/new/", {"label": "", "challenge": "", **data})

    assert response.status_code == 200
    page = _page(response)
    assert message in page
    assert f'id="id_{field}_error"' in page
    assert f'<a href="#id_{field}">' in page
    assert _state() == before


def test_the_service_refuses_a_finished_challenge_and_a_past_expiry(admin):
    failed = ChallengeFactory.create(status=Challenge.Status.FAILED)

    with pytest.raises(services.ValidationError) as error:
        services.join_link_create(
            actor=admin, challenge_id=failed.pk, expires_at=timezone.now() - dt.timedelta(seconds=1)
        )

    assert set(error.value.message_dict) == {"challenge", "expires_at"}
    assert JoinLink.objects.count() == 0


def test_an_admin_revokes_a_link_and_it_opens_nothing_any_more(admin_client, org_link):
    response = admin_client.post(f"/manage/join-links/{org_link.pk}/revoke/")

    assert response.status_code == 302
    org_link.refresh_from_db()
    assert org_link.revoked_at is not None
    page = _page(admin_client.get("/manage/join-links/"))
    assert "Revoked" in page
    assert f"/join/{org_link.token}/" not in page
    assert f"/manage/join-links/{org_link.pk}/revoke/" not in page
    assert Client(HTTP_HOST="alpha.localhost").get(f"/join/{org_link.token}/").status_code == 410
    # Revoking again changes nothing
    revoked_at = org_link.revoked_at
    admin_client.post(f"/manage/join-links/{org_link.pk}/revoke/")
    org_link.refresh_from_db()
    assert org_link.revoked_at == revoked_at


def test_an_expired_link_is_listed_as_expired(admin_client, org_link):
    JoinLink.objects.update(expires_at=timezone.now() - dt.timedelta(days=1))

    assert "Expired" in _page(admin_client.get("/manage/join-links/"))


def test_revoking_is_a_post_and_an_unknown_link_is_404(admin_client, org_link):
    assert admin_client.get(f"/manage/join-links/{org_link.pk}/revoke/").status_code == 405
    assert admin_client.post("/manage/join-links/999999/revoke/").status_code == 404
    assert JoinLink.objects.get().revoked_at is None


WRITES = [
    ("/manage/join-links/new/", {"label": "Sneaky", "challenge": "", "expires_at": ""}),
    ("/manage/join-links/{pk}/revoke/", {}),
]


def test_an_executive_reads_the_links_without_any_write_control(client_a, org_link):
    client_a.force_login(UserFactory.create(email="ceo@alpha.test", role=EXECUTIVE))
    before = _state()

    response = client_a.get("/manage/join-links/")

    assert response.status_code == 200
    page = _page(response)
    assert f"http://alpha.localhost/join/{org_link.token}/" in page  # they may copy it
    main = page.split('<main id="main">')[1]
    assert '<form method="post"' not in main
    assert "/new/" not in page
    assert "/revoke/" not in page
    assert client_a.get("/manage/join-links/new/").status_code == 403
    for path, data in WRITES:
        assert client_a.post(path.format(pk=org_link.pk), data).status_code == 403, path
    assert _state() == before


def test_a_participant_gets_403_and_nothing_changes(client_a, org_link):
    client_a.force_login(UserFactory.create(email="pat@alpha.test", role=PARTICIPANT))
    before = _state()

    for path in ("/manage/join-links/", "/manage/join-links/new/"):
        assert client_a.get(path).status_code == 403, path
    for path, data in WRITES:
        assert client_a.post(path.format(pk=org_link.pk), data).status_code == 403, path
    assert _state() == before


def test_someone_signed_out_is_sent_to_sign_in_and_nothing_changes(client_a, org_link):
    before = _state()

    for path in ("/manage/join-links/", "/manage/join-links/new/"):
        response = client_a.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/sign-in/?next=/manage/join-links/"), path
    for path, data in WRITES:
        response = client_a.post(path.format(pk=org_link.pk), data)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/sign-in/"), path
    assert _state() == before


def test_an_admin_of_another_organisation_cannot_revoke_this_ones_links(org_a, org_b, client_b, org_link):
    with tenant_context(org_b):
        client_b.force_login(UserFactory.create(email="rh@beta.test", role=ORG_ADMIN))

    assert client_b.post(f"/manage/join-links/{org_link.pk}/revoke/").status_code == 404
    listing = _page(client_b.get("/manage/join-links/"))

    assert org_link.token not in listing
    with tenant_context(org_a):
        assert JoinLink.objects.get().revoked_at is None


@pytest.mark.parametrize("rows", [10, 1000])
def test_the_join_link_list_issues_the_same_queries_for_10_or_1000_links(
    admin_client, admin, rows, django_assert_num_queries
):
    challenges = ChallengeFactory.create_batch(3)
    now = timezone.now()
    JoinLink.objects.bulk_create(
        JoinLink(
            token=f"token-{i:05}",
            label=f"Link {i}",
            challenge=challenges[i % 4] if i % 4 < 3 else None,
            created_by=admin,
            expires_at=now + dt.timedelta(days=1) if i % 3 else None,
            revoked_at=now if i % 5 == 0 else None,
        )
        for i in range(rows)
    )

    with django_assert_num_queries(JOIN_LINK_LIST_QUERIES):
        response = admin_client.get("/manage/join-links/")

    assert response.status_code == 200
    assert len(response.context["rows"]) == min(rows, 50)


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
