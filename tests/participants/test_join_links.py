"""The admins' join-link pages: creating, listing, copying and revoking links, and who may do what."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from challenges.models import Challenge
from participants import services
from participants.models import JoinLink
from tests.factories import ChallengeFactory, UserFactory, coming_year_of
from tests.participants.support import _page, _state

# Join links are made in a company that lists its e-mail domains.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("company")]


# Dates within the coming year: one in summer time (June, July).
SUMMER = coming_year_of(6, 1)


# Seven queries on every manager page (the host's organisation, the session, the user and their
# permissions), then the list's own: a count and one page of links with their challenges.
JOIN_LINK_LIST_QUERIES = 7 + 2


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
