"""What the manager page tests share: dates in summer and winter time, the form a new challenge posts,
the state a refused request must leave alone, and how a page shows errors and messages."""

import datetime as dt
import html
import re
from collections.abc import Sequence
from typing import Any

from accounts.models import User
from challenges.models import Challenge, ChallengeEvent, Counterpart, Metric, SkillSlot, Team, TeamMembership
from tests.factories import ChallengeFactory, UserFactory, coming_year_of

# Dates within the coming year: one in summer time (June, July), one in winter time (January).
SUMMER = coming_year_of(6, 1)
WINTER = coming_year_of(1, 10)

Status, GoalKind = Challenge.Status, Challenge.GoalKind
UTC = dt.UTC


def _draft(**fields: Any) -> Challenge:
    return ChallengeFactory.create(status=Status.DRAFT, **fields)


def _km() -> Metric:
    return Metric.objects.get(key="km-cycled")


def _state() -> dict[str, Any]:
    """Everything a manager page may write, to assert that a refused or bad request wrote nothing."""
    return {
        "challenges": list(
            Challenge.objects.order_by("pk").values_list(
                "pk", "title", "status", "starts_at", "deadline", "goal_kind", "goal_target", "metric"
            )
        ),
        "slots": list(SkillSlot.objects.order_by("pk").values_list("pk", "skill", "count", "hours")),
        "counterparts": list(
            Counterpart.objects.order_by("pk").values_list("pk", "description", "status", "proof_text")
        ),
        "events": ChallengeEvent.objects.count(),
        "teams": list(Team.objects.order_by("pk").values_list("pk", "name", "kind", "captain")),
        "memberships": TeamMembership.objects.count(),
    }


def _challenge_data(slots: Sequence[tuple[str, str, str]] = (), **overrides: str) -> dict[str, str]:
    """What the new-challenge form posts: a participants challenge, and up to three skill rows."""
    data = {
        "template_key": "",
        "title": "One organic product a week",
        "description": "",
        "action": "I buy one organic product a week",
        "category": "consumption",
        "starts_at": f"{SUMMER}-06-01T09:00",
        "deadline": f"{SUMMER}-07-01T18:00",
        "goal_kind": "participants",
        "goal_target": "100",
        "metric": "",
        "counterpart_description": "",
        "counterpart_amount": "",
        "counterpart_currency": "",
        "counterpart_due_date": "",
        "slots-TOTAL_FORMS": "3",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "50",
    }
    rows = list(slots) + [("", "", "")] * (3 - len(slots))
    for index, (skill, count, hours) in enumerate(rows):
        data.update(
            {f"slots-{index}-skill": skill, f"slots-{index}-count": count, f"slots-{index}-hours": hours}
        )
    data.update(overrides)
    return data


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _error_next_to(response: Any, field_id: str) -> str:
    """The error list rendered for a field, which its input names in aria-describedby."""
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    assert errors, f"no error shown next to {field_id}"
    described = re.search(rf'<[^>]*id="{field_id}"[^>]*>', page)
    assert described, f"no input {field_id}"
    assert f"{field_id}_error" in described.group(0), f"{field_id} does not point to its error"
    assert 'aria-invalid="true"' in described.group(0)
    return html.unescape(errors.group(1))


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def _member(team: Team, **fields: Any) -> User:
    user = UserFactory.create(**fields)
    TeamMembership.objects.create(user=user, team=team)
    return user
