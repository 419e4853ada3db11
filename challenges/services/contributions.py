"""Writes on contributions: a quantity logged against a quantity goal, or hours on a skill slot.

The lock order is the one of pledges.py: a newcomer's lock on a limited plan, the person's pledge
row, the skill slot, the challenge's row last.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from challenges.models import Challenge, Contribution, Metric, Pledge, SkillSlot
from challenges.selectors.teams import team_of
from challenges.services.lifecycle import succeed_if_reached
from challenges.services.limits import admins_told_when_full, participant_admit, writes_allowed
from challenges.services.totals import challenge_for_action, open_for_action, refuse_closed, totals_add
from core.db import atomic_with_retry
from core.permissions import require
from core.transitions import TransitionRefused

GoalKind = Challenge.GoalKind
Status = Challenge.Status
# Hours one person may log against a skill slot in one day.
SKILL_HOURS_DAILY_CAP = Decimal(12)


def _active_pledge_locked(challenge: Challenge, user: User, **filters: Any) -> Pledge | None:
    return (
        Pledge.objects.select_for_update()
        .filter(challenge=challenge, user=user, withdrawn_at__isnull=True, **filters)
        .first()
    )


def _pledge_insert_if_none(challenge: Challenge, user: User, now: dt.datetime) -> bool:
    """Insert the person's active pledge unless they have one; True if this inserted it."""
    team = team_of(user.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO challenges_pledge (challenge_id, user_id, team_id, created_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [challenge.pk, user.pk, team.pk if team else None, now],
        )
        return cursor.fetchone() is not None


@admins_told_when_full
@atomic_with_retry
def contribution_create(
    *,
    actor: User,
    challenge_id: int,
    day: dt.date,
    amount: Decimal,
    note: str = "",
    skill_slot_id: int | None = None,
    today: dt.date | None = None,
) -> Contribution:
    """Log a quantity, or hours on a skill slot.

    The amount is positive, the day not in the future and inside the challenge's window, and the
    person's total for that day stays under the metric's daily cap. The person's pledge row is locked
    first (created if logging is their first act: it counts them as a participant), which serialises
    their own entries for the cap; the challenge's row comes last. A newcomer of the period past the
    plan's limit of active participants is refused (PlanLimitReached) before anything is written.
    """
    require(actor, None)
    writes_allowed()
    user = actor
    challenge = challenge_for_action(challenge_id)
    now = timezone.now()
    today = today or timezone.localdate(now)
    errors: dict[str, list[str]] = {}
    if challenge.goal_kind == GoalKind.PARTICIPANTS:
        raise TransitionRefused(gettext("This challenge counts pledges, not quantities."))
    open_for_action(challenge, now, allow_succeeded=True)
    if amount is None or amount <= 0:
        errors.setdefault("amount", []).append(gettext("Enter a positive amount."))
    if day > today:
        errors.setdefault("day", []).append(gettext("This day is in the future."))
    window_start, window_end = timezone.localdate(challenge.starts_at), timezone.localdate(challenge.deadline)
    if not window_start <= day <= window_end:
        errors.setdefault("day", []).append(
            gettext("Pick a day between %(start)s and %(end)s.")
            % {"start": window_start.isoformat(), "end": window_end.isoformat()}
        )
    if not errors:
        # Before the person's pledge row: the newcomer's lock comes first (pledges.py).
        participant_admit(user, now)
    slot = None
    pledge: Pledge | None = None
    new_pledge = False
    if challenge.goal_kind == GoalKind.SKILLS:
        slot_exists = SkillSlot.objects.filter(pk=skill_slot_id or 0, challenge=challenge).exists()
        if not slot_exists:
            errors.setdefault("skill_slot", []).append(gettext("Choose the skill slot these hours are for."))
        else:
            pledge = _active_pledge_locked(challenge, user, skill_slot_id=skill_slot_id)
            if pledge is None:
                errors.setdefault("skill_slot", []).append(
                    gettext("Offer yourself for this skill slot before logging hours.")
                )
        cap = SKILL_HOURS_DAILY_CAP
    else:
        cap = Metric.objects.get(pk=challenge.metric_id or 0).daily_cap
        if not errors:
            # Logging a quantity is taking part: it counts the person as a participant.
            new_pledge = _pledge_insert_if_none(challenge, user, now)
            pledge = _active_pledge_locked(challenge, user)
    if not errors:
        logged = Contribution.objects.filter(challenge=challenge, user=user, day=day).aggregate(
            total=Sum("amount")
        )
        already = logged["total"] or Decimal(0)
        if already + amount > cap:
            errors.setdefault("amount", []).append(
                gettext("At most %(cap)s a day: %(already)s already logged on %(day)s.")
                % {
                    "cap": f"{cap.normalize():f}",
                    "already": f"{already.normalize():f}",
                    "day": day.isoformat(),
                }
            )
    if errors:
        raise ValidationError(errors)
    if pledge is not None and pledge.skill_slot_id is not None:
        slot = SkillSlot.objects.select_for_update().get(pk=pledge.skill_slot_id)
    contribution = Contribution(
        challenge=challenge,
        user=user,
        team=pledge.team if pledge is not None else team_of(user.pk),
        skill_slot=slot,
        day=day,
        amount=amount,
        note=note.strip(),
    )
    contribution.full_clean()
    contribution.save()
    if slot is not None:
        slot.filled_hours += amount
        slot.save(update_fields=["filled_hours"])
    totals = totals_add(
        challenge_id, now, pledges=int(new_pledge), quantity=amount if slot is None else Decimal(0)
    )
    if totals is None:
        refuse_closed(challenge_id)
    elif totals.status == Status.OPEN:
        succeed_if_reached(challenge_id, f"Goal reached with contribution #{contribution.pk}")
    return contribution
