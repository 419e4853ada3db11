"""The challenge dashboard (progress, forecast, standings, slots, history) and recording the delivery."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from challenges.models import Challenge, ChallengeEvent, Contribution, Counterpart, SkillSlot
from tests.challenges.manage.support import (
    GoalKind,
    Status,
    _draft,
    _error_next_to,
    _km,
    _member,
    _messages,
    _page,
    _state,
)
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


# The dashboard --------------------------------------------------------------------------------------


def test_the_dashboard_shows_progress_forecast_standings_counterpart_and_history(admin_client, admin):
    # Given an open quantity challenge, halfway through its time and beyond half its goal,
    # a team of 2 that logged 30 km and a team of 10 that logged 100 km
    now = timezone.now()
    challenge = ChallengeFactory.create(
        title="10,000 km by bike",
        goal_kind=GoalKind.QUANTITY,
        metric=_km(),
        goal_target=Decimal(100),
        quantity_total=Decimal(130),
        starts_at=now - dt.timedelta(days=10),
        deadline=now + dt.timedelta(days=10),
    )
    CounterpartFactory.create(challenge=challenge, description="Bike shelters", amount=Decimal(5000))
    small, big = TeamFactory.create(name="Small team"), TeamFactory.create(name="Big team")
    small_members = [_member(small) for _ in range(2)]
    for _ in range(10):
        _member(big)
    Contribution.objects.create(
        challenge=challenge, user=small_members[0], team=small, day=now.date(), amount=Decimal(30)
    )
    Contribution.objects.create(challenge=challenge, team=big, day=now.date(), amount=Decimal(100))
    ChallengeEvent.objects.create(
        challenge=challenge, from_status="draft", to_status="open", actor=admin, cause="Published"
    )

    # When the admin opens the dashboard
    response = admin_client.get(f"/manage/challenges/{challenge.pk}/")

    # Then it shows an accessible progress bar and its text, the forecast, the teams per head
    # (the small team first: 15 km a head against 10), the counterpart and the history
    page = _page(response)
    assert response.status_code == 200
    assert '<progress max="100" value="100" aria-label="Progress towards the goal">' in page
    assert "130 of 100 km (100 %)" in page
    assert "On track" in page
    assert page.index("Small team") < page.index("Big team")
    assert re.search(
        r"Small team</th>\s*<td[^>]*>2</td>\s*<td[^>]*>0</td>\s*<td[^>]*>30</td>\s*<td[^>]*>15", page
    )
    assert "Bike shelters" in page
    assert "Promised" in page
    assert re.search(r"<td>hr@alpha.test</td>\s*<td>Published</td>", page)
    # And its write controls
    assert f'action="/manage/challenges/{challenge.pk}/publish/"' not in page  # open: nothing to publish
    assert f'href="/manage/challenges/{challenge.pk}/cancel/"' in page
    assert "Record the delivery" not in page  # not due yet


def test_the_history_names_who_acted_as_everywhere_else(admin_client):
    # Given a challenge published by someone who shows their name, cancelled by someone who does
    # not, and its counterpart voided by the platform
    challenge = ChallengeFactory.create(status=Challenge.Status.CANCELLED)
    shown = UserFactory.create(email="sam@alpha.test", display_name="Sam Shown", show_name=True)
    quiet = UserFactory.create(email="quinn@alpha.test", display_name="Quinn Quiet", show_name=False)
    ChallengeEvent.objects.create(
        challenge=challenge, from_status="draft", to_status="open", actor=shown, cause="Published"
    )
    ChallengeEvent.objects.create(
        challenge=challenge, from_status="open", to_status="cancelled", actor=quiet, cause="Called off"
    )
    ChallengeEvent.objects.create(
        challenge=challenge,
        subject=ChallengeEvent.Subject.COUNTERPART,
        from_status="promised",
        to_status="void",
        cause="Voided with its challenge",
    )

    # When the admin opens the dashboard
    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    # Then the name shows only where its person chose to show it; the platform acts as Crowdact
    assert re.search(r"<td>Sam Shown <sam@alpha.test></td>\s*<td>Published</td>", page)
    assert re.search(r"<td>quinn@alpha.test</td>\s*<td>Called off</td>", page)
    assert re.search(r"<td>Crowdact</td>\s*<td>Voided with its challenge</td>", page)
    assert "Quinn Quiet" not in page


def test_the_dashboard_says_at_risk_and_the_pace_needed(admin_client):
    # Given 10 of 1,000 participants after 10 days, 10 days before the deadline
    now = timezone.now()
    challenge = ChallengeFactory.create(
        goal_target=Decimal(1000),
        pledge_count=10,
        starts_at=now - dt.timedelta(days=10),
        deadline=now + dt.timedelta(days=10, hours=1),
    )

    response = admin_client.get(f"/manage/challenges/{challenge.pk}/")

    # Then 99 more people a day are needed (990 in 10 days and an hour, rounded up to whole people)
    page = _page(response)
    assert "At risk" in page
    assert "99 more participants per day needed" in page


def test_the_dashboard_of_a_draft_offers_edit_publish_and_cancel(admin_client):
    challenge = _draft()

    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    assert f'href="/manage/challenges/{challenge.pk}/edit/"' in page
    assert f'action="/manage/challenges/{challenge.pk}/publish/"' in page
    assert f'href="/manage/challenges/{challenge.pk}/cancel/"' in page


def test_the_dashboard_of_a_skills_challenge_shows_its_slots(admin_client):
    challenge = ChallengeFactory.create(goal_kind=GoalKind.SKILLS, goal_target=None)
    SkillSlot.objects.create(challenge=challenge, skill="Carpentry", count=2, filled_count=1)
    SkillSlot.objects.create(challenge=challenge, skill="Accounting", count=1, filled_count=1)

    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    assert "2 of 3 places (66 %)" in page
    assert re.search(r"Carpentry</th>\s*<td>1 / 2</td>", page)


def test_the_dashboard_of_a_finished_challenge_offers_no_transition(admin_client):
    challenge = ChallengeFactory.create(status=Status.SUCCEEDED)

    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    for action in ("edit", "publish", "cancel"):
        assert f"/manage/challenges/{challenge.pk}/{action}/" not in page
    assert "Goal reached" in page


def test_an_unknown_challenge_is_404(admin_client):
    assert admin_client.get("/manage/challenges/999999/").status_code == 404


# Recording the counterpart's delivery ---------------------------------------------------------------


@pytest.fixture
def succeeded() -> Challenge:
    challenge = ChallengeFactory.create(status=Status.SUCCEEDED, succeeded_at=timezone.now())
    CounterpartFactory.create(challenge=challenge, status=Counterpart.Status.DUE)
    return challenge


def test_the_dashboard_offers_the_delivery_form_when_the_counterpart_is_due(admin_client, succeeded):
    page = _page(admin_client.get(f"/manage/challenges/{succeeded.pk}/"))

    assert 'enctype="multipart/form-data"' in page
    assert f'action="/manage/challenges/{succeeded.pk}/deliver/"' in page
    assert '<label for="id_proof_file">' in page


def test_an_admin_records_the_delivery_with_a_file(admin_client, admin, succeeded, settings, tmp_path):
    # Given files stored in a temporary folder
    settings.MEDIA_ROOT = str(tmp_path)
    settings.MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
    proof = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 shelters", content_type="application/pdf")

    # When the admin records the delivery with a text, a link and a file
    response = admin_client.post(
        f"/manage/challenges/{succeeded.pk}/deliver/",
        {"proof_text": "Shelters built", "proof_url": "https://alpha.test/shelters", "proof_file": proof},
        follow=True,
    )

    # Then the counterpart is delivered with its proof, in the history, and the page says so
    counterpart = Counterpart.objects.get(challenge=succeeded)
    assert counterpart.status == Counterpart.Status.DELIVERED
    assert counterpart.proof_text == "Shelters built"
    assert (counterpart.proof_file.name or "").startswith("proofs/receipt")
    assert (tmp_path / "alpha" / counterpart.proof_file.name).read_bytes() == b"%PDF-1.4 shelters"
    event = succeeded.events.get(subject=ChallengeEvent.Subject.COUNTERPART)
    assert (event.to_status, event.actor) == (Counterpart.Status.DELIVERED, admin)
    page = _page(response)
    assert "The delivery is recorded" in page
    assert "Shelters built" in page
    assert 'enctype="multipart/form-data"' not in page


def test_a_delivery_without_proof_shows_the_error_next_to_the_field_and_changes_nothing(
    admin_client, succeeded
):
    before = _state()

    response = admin_client.post(f"/manage/challenges/{succeeded.pk}/deliver/", {"proof_text": " "})

    assert response.status_code == 200
    assert "Give a proof of delivery" in _error_next_to(response, "id_proof_text")
    assert _state() == before


def test_a_bad_proof_link_shows_the_error_next_to_it_and_changes_nothing(admin_client, succeeded):
    before = _state()

    response = admin_client.post(f"/manage/challenges/{succeeded.pk}/deliver/", {"proof_url": "not a link"})

    assert "Enter a valid URL." in _error_next_to(response, "id_proof_url")
    assert _state() == before


def test_delivering_a_counterpart_that_is_not_due_is_refused_with_a_message(admin_client):
    challenge = ChallengeFactory.create()
    CounterpartFactory.create(challenge=challenge)
    before = _state()

    response = admin_client.post(
        f"/manage/challenges/{challenge.pk}/deliver/", {"proof_text": "Done"}, follow=True
    )

    assert response.status_code == 200
    assert any("Cannot deliver a counterpart that is promised" in m for m in _messages(response))
    assert _state() == before


def test_the_dashboard_lists_the_latest_changes_and_links_to_the_whole_history(admin_client, admin):
    # Given a challenge changed 75 times (published, then edited again and again)
    challenge = ChallengeFactory.create(status=Challenge.Status.OPEN, title="Long story")
    start = timezone.now() - dt.timedelta(days=30)
    ChallengeEvent.objects.bulk_create(
        ChallengeEvent(
            challenge=challenge, from_status="open", to_status="open", actor=admin, cause=f"Change {n:02}",
            at=start + dt.timedelta(hours=n),
        )
        for n in range(75)
    )  # fmt: skip

    # When the admin opens the dashboard
    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    # Then it lists the 20 latest, oldest first, and links to the whole history
    causes = re.findall(r"<td>(Change \d\d)</td>", page)
    assert causes == [f"Change {n:02}" for n in range(55, 75)]
    assert "The 20 latest changes." in page
    assert f'href="/manage/challenges/{challenge.pk}/history/"' in page

    # And the history page has every change, 50 a page, in the order they happened
    first = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/history/"))
    second = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/history/", {"page": 2}))
    assert re.findall(r"<td>(Change \d\d)</td>", first) == [f"Change {n:02}" for n in range(50)]
    assert re.findall(r"<td>(Change \d\d)</td>", second) == [f"Change {n:02}" for n in range(50, 75)]
    assert "75 changes, in the order they happened." in first
    assert "Page 2 of 2" in second


def test_a_short_history_is_whole_on_the_dashboard(admin_client, admin):
    challenge = ChallengeFactory.create(status=Challenge.Status.OPEN)
    ChallengeEvent.objects.create(
        challenge=challenge, from_status="draft", to_status="open", actor=admin, cause="Go"
    )

    page = _page(admin_client.get(f"/manage/challenges/{challenge.pk}/"))

    assert "<td>Go</td>" in page
    assert "/history/" not in page
    assert "latest change" not in page
