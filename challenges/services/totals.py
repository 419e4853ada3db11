"""The running totals of a challenge and the checks every action on it starts with.

Pledges and contributions move the totals through `totals_add`: one UPDATE ... RETURNING that
re-checks the challenge still takes the action and takes its row lock, last (see pledges.py).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from challenges import states
from challenges.models import Challenge
from core.transitions import TransitionRefused

Status = Challenge.Status
TAKING_ACTION = (Status.OPEN, Status.SUCCEEDED)


def open_for_action(challenge: Challenge, now: dt.datetime, *, allow_succeeded: bool = False) -> None:
    allowed = {Status.OPEN, Status.SUCCEEDED} if allow_succeeded else {Status.OPEN}
    if challenge.status not in allowed:
        raise TransitionRefused(
            gettext("This challenge is %(status)s: it does not take this any more.")
            % {"status": states.status_word(challenge.status)}
        )
    if now < challenge.starts_at:
        raise TransitionRefused(gettext("This challenge has not started yet."))
    if now > challenge.deadline:
        raise TransitionRefused(gettext("The deadline of this challenge has passed."))


@dataclass(frozen=True)
class Totals:
    """The challenge's row as the UPDATE that moved its totals left it (under its lock until commit)."""

    pledge_count: int
    quantity_total: Decimal
    status: str
    goal_target: Decimal | None


def totals_add(
    challenge_id: int,
    now: dt.datetime,
    *,
    pledges: int = 0,
    quantity: Decimal = Decimal(0),
    statuses: tuple[str, ...] = TAKING_ACTION,
) -> Totals | None:
    """Move the challenge's running totals if it is still in one of `statuses` and running now; lock
    its row until commit. None when it no longer takes the action (nothing was changed)."""
    window = "AND starts_at <= %s AND deadline >= %s " if Status.SUCCEEDED in statuses else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE challenges_challenge SET pledge_count = pledge_count + %s, "  # noqa: S608 - fixed text
            "quantity_total = quantity_total + %s, updated_at = %s "
            f"WHERE id = %s AND status = ANY(%s) {window}"
            "RETURNING pledge_count, quantity_total, status, goal_target",
            [pledges, quantity, now, challenge_id, list(statuses), *([now, now] if window else [])],
        )
        row = cursor.fetchone()
    return Totals(row[0], row[1], row[2], row[3]) if row else None


def refuse_closed(challenge_id: int) -> NoReturn:
    """The challenge closed between the first look and the lock: say why (the caller rolls back)."""
    open_for_action(Challenge.objects.get(pk=challenge_id), timezone.now(), allow_succeeded=True)
    raise TransitionRefused(gettext("This challenge does not take this any more."))


def challenge_for_action(challenge_id: int) -> Challenge:
    challenge = (
        Challenge.objects.only("id", "title", "status", "goal_kind", "starts_at", "deadline", "metric_id")
        .filter(pk=challenge_id)
        .first()
    )
    if challenge is None:
        raise ValidationError({"challenge": [gettext("This challenge does not exist.")]})
    return challenge
