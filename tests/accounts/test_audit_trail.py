"""The audit trail: every admin action with who, when and from which client; filters, CSV, read
only; an erased person's entries say "erased person" and keep the action."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEntry
from accounts.roles import EXECUTIVE, ORG_ADMIN
from accounts.tokens import api_token_create
from challenges import services
from participants import services as participant_services
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(in_org_a):
    return UserFactory.create(email="trail.admin@alpha.test", display_name="Tina Trail", role=ORG_ADMIN)


@pytest.fixture
def trail(client_a: Client, admin) -> Client:
    client_a.force_login(admin)
    return client_a


def test_admin_actions_are_recorded_with_actor_client_and_request_id(trail, admin):
    created = trail.post(
        "/manage/challenges/new/",
        {
            "title": "Car-free Friday",
            "category": "environment",
            "starts_at": f"{timezone.localdate() + dt.timedelta(days=1)}T09:00",
            "deadline": f"{timezone.localdate() + dt.timedelta(days=30)}T18:00",
            "goal_kind": "participants",
            "goal_target": "10",
            "slots-TOTAL_FORMS": "0",
            "slots-INITIAL_FORMS": "0",
            "slots-MIN_NUM_FORMS": "0",
            "slots-MAX_NUM_FORMS": "50",
        },
        REMOTE_ADDR="198.51.100.23",
        HTTP_X_REQUEST_ID="req-audit-0001",
    )
    challenge = ChallengeFactory.create(status="draft")
    services.challenge_publish(actor=admin, challenge_id=challenge.pk)
    services.challenge_cancel(actor=admin, challenge_id=challenge.pk, cause="Weather")
    link = participant_services.join_link_create(actor=admin, label="Intranet")
    participant_services.join_link_revoke(actor=admin, join_link_id=link.pk)
    token, _ = api_token_create(actor=admin, name="Export")
    services.team_create(actor=admin, name="Night shift")

    assert created.status_code == 302
    kinds = list(AuditEntry.objects.order_by("at", "pk").values_list("kind", flat=True))
    assert kinds == [
        "challenge_created",
        "challenge_published",
        "challenge_cancelled",
        "join_link_created",
        "join_link_revoked",
        "api_token_created",
        "team_created",
    ]
    first = AuditEntry.objects.order_by("at", "pk").first()
    assert first is not None
    assert (first.actor, first.target, first.client, first.request_id) == (
        admin,
        "Car-free Friday",
        "198.51.100.23",
        "req-audit-0001",
    )
    assert AuditEntry.objects.filter(kind="challenge_cancelled").get().changes == [
        {"field": "cause", "old": None, "new": "Weather"}
    ]
    assert token.pk


def test_the_trail_page_filters_by_kind_and_person_and_exports_csv(trail, admin):
    other = UserFactory.create(email="other.admin@alpha.test", role=ORG_ADMIN)
    services.team_create(actor=admin, name="Alpha team")
    services.team_create(actor=other, name="Beta team")
    participant_services.join_link_create(actor=admin, label="Newsletter")

    by_kind = trail.get("/manage/audit/", {"kind": "team_created"}).content.decode()
    by_person = trail.get("/manage/audit/", {"person": str(other.pk)}).content.decode()
    exported = b"".join(trail.get("/manage/audit/export.csv").streaming_content).decode()

    assert "Alpha team" in by_kind
    assert "Beta team" in by_kind
    assert "Newsletter" not in by_kind
    assert "Beta team" in by_person
    assert "Alpha team" not in by_person
    assert exported.splitlines()[0] == "at,action,by,concerning,changes,client,request_id"
    assert len(exported.strip().splitlines()) == 4


def test_only_admins_read_the_trail_and_nothing_edits_it(client_a, trail, in_org_a, admin):
    services.team_create(actor=admin, name="Kept")
    executive = Client(HTTP_HOST="alpha.localhost")
    executive.force_login(UserFactory.create(role=EXECUTIVE))

    assert executive.get("/manage/audit/").status_code == 403
    assert executive.get("/manage/audit/export.csv").status_code == 403
    entry = AuditEntry.objects.get()
    # No page or API changes an entry: the trail only answers reads.
    assert trail.post("/manage/audit/", {"kind": "x"}).status_code == 405
    assert trail.post("/api/v1/audit/", {"kind": "x"}, content_type="application/json").status_code == 405
    entry.refresh_from_db()
    assert entry.target == "Kept"


def test_an_erased_actor_shows_as_erased_person_and_the_action_stays(trail, admin, in_org_a):
    from participants.services import person_erase

    UserFactory.create(role=ORG_ADMIN)  # so that this admin may go
    services.team_create(actor=admin, name="Before erasure")

    person_erase(actor=admin)

    viewer = Client(HTTP_HOST="alpha.localhost")
    viewer.force_login(UserFactory.create(role=ORG_ADMIN))
    page = viewer.get("/manage/audit/").content.decode()
    assert "Before erasure" in page
    assert "erased person" in page
    assert "Tina Trail" not in page
    assert "trail.admin@alpha.test" not in page


def test_the_page_names_changed_fields_in_words_and_the_csv_keeps_their_names(trail, admin):
    services.challenge_cancel(
        actor=admin, challenge_id=ChallengeFactory.create(status="draft").pk, cause="Roadworks"
    )

    page = trail.get("/manage/audit/").content.decode()
    exported = b"".join(trail.get("/manage/audit/export.csv").streaming_content).decode()

    assert "Cause: Roadworks" in page
    assert "cause: Roadworks" in exported
