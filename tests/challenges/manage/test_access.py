"""Who may do what on the manager pages: admins write, executives read, participants get 403, someone
signed out signs in, another organisation finds nothing, and no request makes a page fail."""

import pytest
from django_tenants.utils import tenant_context

from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from challenges.models import Counterpart
from tenants.models import Organization
from tests.challenges.manage.support import Status, _challenge_data, _draft, _page, _state
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


# Who may do what ------------------------------------------------------------------------------------


@pytest.fixture
def world(in_org_a: Organization) -> dict[str, int]:
    """A draft, an open challenge, a succeeded one with a due counterpart and an empty team."""
    draft = _draft(title="A draft")
    open_challenge = ChallengeFactory.create(title="An open one")
    CounterpartFactory.create(challenge=open_challenge)
    done = ChallengeFactory.create(title="A success", status=Status.SUCCEEDED)
    CounterpartFactory.create(challenge=done, status=Counterpart.Status.DUE)
    team = TeamFactory.create(name="Logistics")
    return {"draft": draft.pk, "open": open_challenge.pk, "done": done.pk, "team": team.pk}


READ_PAGES = [
    "/manage/challenges/",
    "/manage/challenges/?status=open",
    "/manage/challenges/{draft}/",
    "/manage/challenges/{done}/",
    "/manage/challenges/{done}/history/",
    "/manage/teams/",
]
WRITE_PAGES = [
    "/manage/challenges/new/",
    "/manage/challenges/new/?template=bike-to-work",
    "/manage/challenges/{draft}/edit/",
    "/manage/challenges/{open}/cancel/",
    "/manage/teams/new/",
    "/manage/teams/{team}/edit/",
]
WRITES = [
    ("/manage/challenges/new/", _challenge_data()),
    ("/manage/challenges/{draft}/edit/", _challenge_data(title="Changed")),
    ("/manage/challenges/{draft}/publish/", {}),
    ("/manage/challenges/{open}/cancel/", {"cause": "Because"}),
    ("/manage/challenges/{done}/deliver/", {"proof_text": "Done"}),
    ("/manage/teams/new/", {"name": "Finance", "kind": "site"}),
    ("/manage/teams/{team}/edit/", {"name": "Renamed", "kind": "site"}),
    ("/manage/teams/{team}/delete/", {}),
]


def test_an_executive_reads_lists_and_dashboards_without_any_write_control(executive_client, world):
    for path in READ_PAGES:
        response = executive_client.get(path.format(**world))

        assert response.status_code == 200, path
        page = _page(response)
        assert '<form method="post"' not in page.split('<main id="main">')[1], path
        for marker in ("/edit/", "/publish/", "/cancel/", "/deliver/", "/delete/", "/new/"):
            assert marker not in page, (path, marker)


def test_an_executive_gets_403_on_every_write_page_and_action_and_nothing_changes(executive_client, world):
    before = _state()

    for path in WRITE_PAGES:
        assert executive_client.get(path.format(**world)).status_code == 403, path
    for path, data in WRITES:
        assert executive_client.post(path.format(**world), data).status_code == 403, path

    assert _state() == before


def test_a_participant_gets_403_everywhere_and_nothing_changes(participant_client, world):
    before = _state()

    for path in READ_PAGES + WRITE_PAGES:
        assert participant_client.get(path.format(**world)).status_code == 403, path
    for path, data in WRITES:
        assert participant_client.post(path.format(**world), data).status_code == 403, path

    assert _state() == before


def test_someone_signed_out_is_sent_to_sign_in_and_nothing_changes(client_a, world):
    before = _state()

    for path in READ_PAGES + WRITE_PAGES:
        response = client_a.get(path.format(**world))
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/sign-in/?next=/manage/"), path
    for path, data in WRITES:
        response = client_a.post(path.format(**world), data)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/account/sign-in/"), path

    assert _state() == before


def test_an_admin_of_another_organisation_finds_nothing_of_this_one(org_a, org_b, client_b, world):
    # Given Beta's admin, signed in on Beta, with Alpha's ids
    with tenant_context(org_b):
        client_b.force_login(UserFactory.create(email="rh@beta.test", role=ORG_ADMIN))
    before = _state()

    # When they open or act on Alpha's challenges and team through Beta's site
    with tenant_context(org_b):
        for path in [
            "/manage/challenges/{draft}/",
            "/manage/challenges/{draft}/edit/",
            "/manage/teams/{team}/edit/",
        ]:
            assert client_b.get(path.format(**world)).status_code == 404, path
        for path, data in WRITES:
            if "{" in path:
                assert client_b.post(path.format(**world), data).status_code == 404, path
        listing = _page(client_b.get("/manage/challenges/"))

    # Then there is nothing to see and nothing changed
    assert "A draft" not in listing
    with tenant_context(org_a):
        assert _state() == before


def test_every_manager_page_answers_an_empty_or_malformed_request_without_error(admin_client, world):
    # Given an admin, and every page and action with missing, wrong or unexpected fields
    before = _state()
    paths = READ_PAGES + WRITE_PAGES + [path for path, _ in WRITES]
    junk = {"slots-TOTAL_FORMS": "x", "goal_kind": "nonsense", "metric": "999999", "starts_at": "yesterday"}

    for path in paths:
        for method, data in [("get", {}), ("post", {}), ("post", junk)]:
            # When they send it
            response = getattr(admin_client, method)(path.format(**world), data)

            # Then they get a page, a refusal or a redirect, never an error
            assert response.status_code in (200, 302, 404, 405), (method, path, data)
    # And no form wrote anything (publishing and deleting an empty team need no field: they happened)
    after = _state()
    assert [row[:2] for row in after["challenges"]] == [row[:2] for row in before["challenges"]]
    assert after["counterparts"] == before["counterparts"]
    assert after["slots"] == before["slots"]


def test_the_header_links_to_the_challenges_for_dashboard_readers_only(client_a, in_org_a):
    link = 'href="/manage/challenges/"'
    for role, shown in [(ORG_ADMIN, True), (EXECUTIVE, True), (PARTICIPANT, False)]:
        client_a.force_login(UserFactory.create(role=role))

        page = _page(client_a.get("/"))

        assert (link in page) is shown, role
    client_a.logout()
    assert link not in _page(client_a.get("/"))
