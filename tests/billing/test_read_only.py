"""Read-only mode: an organisation unpaid past its grace period reads everything and writes nothing
(HTTP 402, a sentence, the billing page's address), except signing in and out, the billing page, and
a person's own data export and erasure; paying (billing_state back to active) restores every write.

The walk reads the organisation's URL conf, so a route added later is covered as it comes.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN, PARTICIPANT
from challenges.models import Challenge, Team
from challenges.services import challenge_close_if_expired, pledge_create
from core.errors import OrganizationReadOnly
from participants.models import JoinLink
from tenants.models import Organization
from tests.factories import ChallengeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

READ_ONLY = Organization.BillingState.READ_ONLY
ACTIVE = Organization.BillingState.ACTIVE
PASSWORD = "correct-horse-battery"  # tests/factories.py
# What still takes writes: signing in and out, the billing page, a person's own GDPR rights.
WRITABLE = {
    "login", "logout", "password_set", "invitation", "welcome", "access:email_link", "access:sign_in",
    "set_language", "participants:my_data_export", "participants:my_data_erase",
}  # fmt: skip
TENANT_APPS = ("accounts", "challenges", "participants", "reports")
API_METHODS = ("post", "put", "patch", "delete")
SENTENCE = (
    "Alpha Corp is read-only until a payment is settled: every page can still be read, but nothing "
    "can be changed for now. Nothing has been deleted."
)
BILLING_URL = "http://alpha.localhost/manage/billing/"


def _routes() -> Iterator[str]:
    def walk(resolver: URLResolver, prefix: str) -> Iterator[str]:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    yield from walk(get_resolver("config.urls_tenants"), "")


def _fill(route: str, ids: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group("name")
        if name in ("pk", "id"):  # the object the route is about, by its section
            section = next((key for key in ("teams", "people", "join-links") if f"{key}/" in route), "")
            return ids[section or "challenge"]
        assert name in ids, f"the read-only walk does not know how to fill <{name}> in {route!r}"
        return ids[name]

    return "/" + re.sub(r"<(?:\w+:)?(?P<name>\w+)>", value, route)


def _writable(path: str) -> bool:
    match = resolve(path, urlconf="config.urls_tenants")
    return match.view_name in WRITABLE or "billing" in match.namespaces


def _state(organization: Organization) -> dict[str, Any]:
    """Every row of the organisation's schema, and its own row: what a refused write must leave."""
    with tenant_context(organization):
        rows = {
            model._meta.label: list(model._default_manager.order_by("pk").values())
            for label in TENANT_APPS
            for model in apps.get_app_config(label).get_models()
        }
    rows["organization"] = list(Organization.objects.filter(pk=organization.pk).values())
    return rows


def _read_only(organization: Organization) -> Organization:
    organization.billing_state = READ_ONLY
    organization.save(update_fields=["billing_state", "allowed_email_domains"])
    return organization


@pytest.fixture
def things(in_org_a: Organization, admin: User) -> dict[str, str]:
    """Something of each kind a write could change, and the ids that fill the routes."""
    team = TeamFactory.create(name="Cyclists")
    person = UserFactory.create(email="someone@alpha.test", role=PARTICIPANT)
    challenge = ChallengeFactory.create(status=Challenge.Status.DRAFT, title="A draft")
    ChallengeFactory.create(title="An open one")
    link = JoinLink.objects.create(label="Intranet", token="read-only-walk-token", created_by=admin)
    return {
        "challenge": str(challenge.pk),
        "teams": str(team.pk),
        "people": str(person.pk),
        "join-links": str(link.pk),
        "challenge_id": str(challenge.pk),
        "team_id": str(team.pk),
        "token_id": "1",
        "person_id": str(person.pk),
        "token": link.token,
        "secret": "no-such-secret",
        "uidb64": "MQ",
        "name": "logo-0123456789abcdef.png",
        "report_id": "1",
        "share_id": "1",
    }


def test_every_write_route_is_refused_with_402_and_changes_nothing(org_a, admin_client, things):
    paths = [_fill(route, things) for route in _routes()]
    writes = [path for path in paths if not _writable(path)]
    assert "/manage/challenges/new/" in writes
    assert "/api/v1/teams/" in writes
    assert admin_client.get("/").status_code == 200  # last seen is written once an hour: now, not below
    _read_only(org_a)
    before = _state(org_a)

    for path in writes:
        api = path.startswith("/api/")
        for method in API_METHODS if api else ("post",):
            if api:
                response = getattr(admin_client, method)(
                    path, {"name": "Changed"}, content_type="application/json"
                )
            else:
                response = admin_client.post(path, {"name": "Changed", "title": "Changed", "confirm": "on"})
            assert response.status_code == 402, f"{method.upper()} {path} answered {response.status_code}"
            if api:
                assert response.json() == {"detail": SENTENCE, "upgrade_url": BILLING_URL}, path
            else:
                assert SENTENCE in html.unescape(response.content.decode()), path

    assert _state(org_a) == before


def test_reads_still_answer(org_a, admin_client, things):
    _read_only(org_a)

    for path in (
        "/",
        "/manage/challenges/",
        f"/manage/challenges/{things['challenge']}/",
        "/manage/teams/",
        "/manage/people/",
        "/manage/billing/",
        "/api/v1/challenges/",
        "/api/v1/teams/",
    ):
        assert admin_client.get(path).status_code == 200, path
        assert admin_client.head(path).status_code == 200, path


def test_the_page_tells_admins_where_to_pay_and_others_that_nothing_is_lost(
    org_a, admin_client, participant, client_a
):
    challenge = ChallengeFactory.create()
    _read_only(org_a)

    for_admin = admin_client.post(
        "/manage/teams/new/", {"name": "New"}, headers={"referer": "http://alpha.localhost/manage/teams/"}
    )
    client_a.force_login(participant)
    for_participant = client_a.post(f"/challenges/{challenge.pk}/pledge/")

    assert for_admin.status_code == for_participant.status_code == 402
    admin_page = html.unescape(for_admin.content.decode())
    assert SENTENCE in admin_page
    assert '<a class="button primary big" href="/manage/billing/">Go to the billing page</a>' in admin_page
    assert '<a href="http://alpha.localhost/manage/teams/">Back to where you were</a>' in admin_page
    participant_page = html.unescape(for_participant.content.decode())
    assert SENTENCE in participant_page
    assert "/manage/billing/" not in participant_page
    assert "Your organisation's admins can restore it by settling the payment." in participant_page
    assert '<a href="/">Back to where you were</a>' in participant_page
    assert for_participant.headers["Cache-Control"] == "private, no-store"  # a signed-in page's headers
    assert for_participant.headers["X-Frame-Options"] == "DENY"


def test_a_french_organisation_is_told_in_french(org_b, client_b):
    with tenant_context(org_b):
        challenge = ChallengeFactory.create()
        client_b.force_login(UserFactory.create(email="habitant@beta.test"))
    _read_only(org_b)

    response = client_b.post(f"/challenges/{challenge.pk}/pledge/")

    assert response.status_code == 402
    assert response.headers["Content-Language"] == "fr"
    assert '<html lang="fr">' in response.content.decode()
    assert "Aller au contenu" in html.unescape(response.content.decode())


def test_signing_in_and_out_still_works(org_a, client_a):
    with tenant_context(org_a):
        person = UserFactory.create(email="back@alpha.test", role=ORG_ADMIN)
    org_a.allowed_email_domains = ["alpha.test"]
    _read_only(org_a)

    signed_in = client_a.post("/account/sign-in/", {"username": person.email, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert client_a.get("/manage/challenges/").status_code == 200
    signed_out = client_a.post("/account/sign-out/")
    assert signed_out.status_code == 302
    assert client_a.get("/manage/challenges/").status_code == 302  # to the sign-in page
    assert client_a.post("/i18n/setlang/", {"language": "fr", "next": "/"}).status_code == 302
    asked = client_a.post("/account/email-link/", {"email": person.email})
    assert (asked.status_code, asked.headers["Location"]) == (302, "/account/email-link/sent/")


def test_the_billing_page_and_its_actions_are_let_through(org_a, admin_client):
    _read_only(org_a)

    for path in ("/manage/billing/", "/manage/billing/checkout/", "/manage/billing/portal/"):
        response = admin_client.post(path, {"kind": "plan", "key": "business"})
        assert response.status_code != 402, path
        assert b"is read-only until a payment is settled" not in response.content, path


def test_a_person_may_still_export_and_erase_their_data(org_a, participant, participant_client):
    _read_only(org_a)

    exported = participant_client.get("/me/data/export.json")
    erased = participant_client.post("/me/data/erase/", {"confirm": "on"})

    assert exported.status_code == 200
    assert erased.status_code == 302
    with tenant_context(org_a):
        participant.refresh_from_db()
    assert participant.erased_at is not None


def test_paying_restores_every_write(org_a, admin_client):
    _read_only(org_a)
    refused = admin_client.post("/api/v1/teams/", {"name": "Later"}, content_type="application/json")
    assert refused.status_code == 402

    org_a.billing_state = ACTIVE
    org_a.save(update_fields=["billing_state"])
    created = admin_client.post("/api/v1/teams/", {"name": "Later"}, content_type="application/json")
    page = admin_client.post("/manage/teams/new/", {"name": "On the page", "kind": "department"})

    assert created.status_code == 201, created.content
    assert page.status_code == 302
    with tenant_context(org_a):
        assert set(Team.objects.values_list("name", flat=True)) == {"Later", "On the page"}


def test_the_services_refuse_people_but_the_products_own_tasks_go_on(org_a, participant):
    """A write that does not come over HTTP (a command, a task acting for someone) is refused by the
    services too; closing expired challenges, the product's own work, still runs."""
    with tenant_context(org_a):
        open_one = ChallengeFactory.create()
        expired = ChallengeFactory.create(
            starts_at=timezone.now() - dt.timedelta(days=10),
            deadline=timezone.now() - dt.timedelta(minutes=1),
        )
    _read_only(org_a)

    with tenant_context(org_a):
        with pytest.raises(OrganizationReadOnly) as refused:
            pledge_create(actor=participant, challenge_id=open_one.pk)
        assert challenge_close_if_expired(challenge_id=expired.pk)
        assert Challenge.objects.get(pk=expired.pk).status == Challenge.Status.FAILED
        assert not open_one.pledges.exists()
    assert str(refused.value) == SENTENCE
    assert refused.value.upgrade_url == BILLING_URL


def test_an_active_organisation_is_never_concerned(org_a, admin_client, org_b):
    assert org_a.billing_state == ACTIVE
    _read_only(org_b)  # another organisation's state changes nothing here

    assert admin_client.post("/manage/teams/new/", {"name": "Fine", "kind": "site"}).status_code == 302


def test_an_unauthenticated_api_write_is_refused_too(org_a, client_a: Client):
    _read_only(org_a)

    response = client_a.post("/api/v1/teams/", {"name": "X"}, content_type="application/json")

    assert response.status_code == 402
    assert response.json()["upgrade_url"] == BILLING_URL
