"""How far a challenge got: its progress, whether its goal is reached, where it is heading."""

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from challenges.models import Challenge, SkillSlot

GoalKind = Challenge.GoalKind


def goal_reached(challenge: Challenge, slots: list[SkillSlot] | None = None) -> bool:
    """The one rule: enough pledges, enough of the metric, or every skill slot filled."""
    if challenge.goal_kind == GoalKind.SKILLS:
        slots = slots if slots is not None else list(challenge.skill_slots.all())
        return bool(slots) and all(slot.is_filled for slot in slots)
    if challenge.goal_target is None:
        return False
    current = (
        Decimal(challenge.pledge_count)
        if challenge.goal_kind == GoalKind.PARTICIPANTS
        else challenge.quantity_total
    )
    return current >= challenge.goal_target


@dataclass(frozen=True)
class Progress:
    current: Decimal
    target: Decimal
    percent: int
    reached: bool


def challenge_progress(challenge: Challenge, slots: list[SkillSlot] | None = None) -> Progress:
    """Progress from the running totals (skills: filled slot places out of all places)."""
    if challenge.goal_kind == GoalKind.SKILLS:
        slots = slots if slots is not None else list(challenge.skill_slots.all())
        target = Decimal(sum(slot.count for slot in slots))
        current = Decimal(sum(min(slot.filled_count, slot.count) for slot in slots))
    else:
        target = challenge.goal_target or Decimal(0)
        current = (
            Decimal(challenge.pledge_count)
            if challenge.goal_kind == GoalKind.PARTICIPANTS
            else challenge.quantity_total
        )
    percent = min(100, int(current * 100 / target)) if target else 0
    reached = goal_reached(challenge, slots) or challenge.status == Challenge.Status.SUCCEEDED
    return Progress(current=current, target=target, percent=percent, reached=reached)


@dataclass(frozen=True)
class Forecast:
    projected: Decimal
    on_track: bool
    needed_per_day: Decimal | None  # when at risk: how much more per remaining day


def challenge_forecast(challenge: Challenge, now: dt.datetime | None = None) -> Forecast | None:
    """Projected total at the deadline from the pace so far (open participants or quantity goals).

    When at risk, what is needed per remaining day: rounded up, to whole people for a participants
    goal (people come whole), to the cent for a quantity.
    """
    if challenge.status != Challenge.Status.OPEN or challenge.goal_kind == GoalKind.SKILLS:
        return None
    now = now or timezone.now()
    progress = challenge_progress(challenge)
    if now <= challenge.starts_at:
        return None
    elapsed_days = Decimal((now - challenge.starts_at).total_seconds()) / 86400
    remaining_days = Decimal(max((challenge.deadline - now).total_seconds(), 0)) / 86400
    pace = progress.current / elapsed_days
    projected = (progress.current + pace * remaining_days).quantize(Decimal("0.01"))
    if projected >= progress.target:
        return Forecast(projected=projected, on_track=True, needed_per_day=None)
    missing = progress.target - progress.current
    days = max(remaining_days, Decimal(1))
    if challenge.goal_kind == GoalKind.PARTICIPANTS:
        needed = Decimal(math.ceil(missing / days))
    else:
        needed = Decimal(math.ceil(missing / days * 100)) / 100
    return Forecast(projected=projected, on_track=False, needed_per_day=needed)
