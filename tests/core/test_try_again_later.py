"""A write PostgreSQL keeps aborting for a deadlock, after every retry: the page and the API answer
503 with a sentence and Retry-After, never a 500, and nothing of it is written."""

import json

import psycopg
import pytest
from django.db import OperationalError

from challenges.models import Pledge
from challenges.services import pledges
from core import db
from tests.api import V1, api_client, post
from tests.factories import ChallengeFactory

pytestmark = pytest.mark.django_db

ENGLISH = "Too many people are acting at this very moment: nothing was saved. Try again in a few seconds."
FRENCH = (
    "Trop de personnes agissent en ce moment même\u00a0: rien n’a été enregistré. "
    "Réessayez dans quelques secondes."
)


@pytest.fixture
def always_deadlocked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every pledge is aborted for a deadlock once its row is written, attempt after attempt."""
    attempts: list[int] = []

    def totals_add(*args: object, **kwargs: object) -> None:
        attempts.append(Pledge.objects.count())  # the pledge of this attempt is written
        # As Django raises it: its OperationalError, psycopg's error (and its SQLSTATE) as the cause.
        raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected("deadlock detected")

    monkeypatch.setattr(pledges, "totals_add", totals_add)
    return attempts


def test_a_page_answers_503_in_the_persons_language_and_writes_nothing(
    participant_client, participant, always_deadlocked
):
    # Given a participant who reads French, and a challenge whose pledges always deadlock
    participant.language = "fr"
    participant.save(update_fields=["language"])
    challenge = ChallengeFactory.create()

    # When she pledges
    response = participant_client.post(f"/challenges/{challenge.pk}/pledge/")

    # Then every attempt ran, the page says to try again soon, in French, and nothing was written
    assert always_deadlocked == [1] * db.ATTEMPTS
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert FRENCH in response.content.decode()
    assert not Pledge.objects.exists()
    challenge.refresh_from_db()
    assert challenge.pledge_count == 0


def test_the_api_answers_503_in_json_and_writes_nothing(participant, always_deadlocked):
    challenge = ChallengeFactory.create()

    response = post(api_client(participant), f"{V1}/challenges/{challenge.pk}/pledge/")

    assert always_deadlocked == [1] * db.ATTEMPTS
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(response.content) == {"detail": ENGLISH}
    assert not Pledge.objects.exists()
    challenge.refresh_from_db()
    assert challenge.pledge_count == 0
