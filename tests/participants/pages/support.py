"""What the participant page tests share: challenges of each goal kind, the state a refused action must
leave alone, and how a page shows messages and its content-security policy."""

import re
from decimal import Decimal
from typing import Any

from django.test import Client

from accounts.models import User
from challenges.models import Challenge, Contribution, Metric, Pledge, SkillSlot, TeamMembership
from tests.factories import ChallengeFactory

Status, GoalKind = Challenge.Status, Challenge.GoalKind


def _km() -> Metric:
    return Metric.objects.get(key="km-cycled")


def _quantity_challenge(**fields: Any) -> Challenge:
    defaults: dict[str, Any] = {"goal_kind": GoalKind.QUANTITY, "goal_target": Decimal(1000), "metric": _km()}
    return ChallengeFactory.create(**{**defaults, **fields})


def _skills_challenge(**fields: Any) -> tuple[Challenge, SkillSlot, SkillSlot]:
    challenge = ChallengeFactory.create(goal_kind=GoalKind.SKILLS, goal_target=None, **fields)
    design = SkillSlot.objects.create(challenge=challenge, skill="Design", count=2, hours=Decimal(10))
    accounting = SkillSlot.objects.create(challenge=challenge, skill="Accounting", count=1)
    return challenge, design, accounting


def _state() -> dict[str, Any]:
    """Everything a participant action may write, to assert that a refused or bad request wrote nothing."""
    return {
        "challenges": list(
            Challenge.objects.order_by("pk").values_list(
                "pk", "status", "pledge_count", "quantity_total", "succeeded_at"
            )
        ),
        "pledges": list(
            Pledge.objects.order_by("pk").values_list(
                "pk", "user", "team", "skill_slot", "withdrawn_at", "confirmed_at"
            )
        ),
        "contributions": list(Contribution.objects.order_by("pk").values_list("pk", "amount", "day", "note")),
        "slots": list(SkillSlot.objects.order_by("pk").values_list("pk", "filled_count", "filled_hours")),
        "memberships": list(TeamMembership.objects.order_by("pk").values_list("user", "team")),
        "users": list(
            User.objects.order_by("pk").values_list("pk", "email", "display_name", "show_name", "language")
        ),
    }


def _search(pattern: str, text: str) -> re.Match[str]:
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return match


def _messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _follow(client: Client, path: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(path, data or {}, follow=True)


def _csp(response: Any) -> dict[str, str]:
    """The Content-Security-Policy header, as directive -> sources."""
    directives = (part.strip() for part in response["Content-Security-Policy"].split(";"))
    return {name: rest for name, _, rest in (d.partition(" ") for d in directives if d)}


PARTICIPANT_GETS = ["/me/", "/me/team/", "/me/privacy/", "/me/data/", "/me/data/export.json", "/teams/"]
