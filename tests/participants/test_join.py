"""Joining through a link: the join page, the one-time sign-in link, the limits, and the admins' pages.

Organisation A ("alpha") is a company that accepts @alpha.test addresses, in English; organisation B
("beta") is a municipality, in French, that accepts any address.

This module holds the join page and its journey, the addresses a company accepts, refused join tokens
and the e-mail task; the sign-in links, the rate limits and the admins' join-link pages have their own.
"""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN, PARTICIPANT
from participants import services
from participants.models import JoinLink, SignInLink
from participants.services import JoinRefused
from participants.tasks import sign_in_link_send
from tests.factories import UserFactory
from tests.participants.support import _join, _page, _sign_in_link_from, _state

pytestmark = pytest.mark.django_db


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
