"""Writes on pledges: pledge (or offer oneself for a skill slot), withdraw, confirm.

Lock order, in every write that moves a total (here and in contributions.py): on a plan with a
limit of active participants, a newcomer of the period takes the organisation's newcomer lock first
(challenges/services/limits.py; people already active take none), then the person's pledge
row (the unique index of active pledges serialises one person's writes on one challenge), then
the skill slot, then the challenge's row, last and for as short a time as possible (one UPDATE ...
RETURNING that also re-checks that the challenge still takes the action). Two writes never wait for
each other in a cycle; core.db.atomic_with_retry runs again whatever PostgreSQL still aborts.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from challenges import states
from challenges.models import Challenge, Pledge, SkillSlot
from challenges.selectors.teams import team_of
from challenges.services.lifecycle import succeed_if_reached
from challenges.services.limits import admins_told_when_full, participant_admit, writes_allowed
from challenges.services.totals import challenge_for_action, open_for_action, refuse_closed, totals_add
from core.db import atomic_with_retry
from core.permissions import require
from core.transitions import TransitionRefused

Status = Challenge.Status
GoalKind = Challenge.GoalKind


PLEDGE_UNIQUE_CONSTRAINT = "pledge_one_active_per_person"


def _pledge_insert(challenge: Challenge, user: User, **fields: Any) -> Pledge:
    """The person's active pledge, new: the unique index refuses a second one."""
    try:
        with transaction.atomic():
            return Pledge.objects.create(challenge=challenge, user=user, team=team_of(user.pk), **fields)
    except IntegrityError as exc:
        if PLEDGE_UNIQUE_CONSTRAINT not in str(exc):
            raise
        raise TransitionRefused(gettext("You have already pledged to this challenge.")) from exc


@admins_told_when_full
@atomic_with_retry
def pledge_create(*, actor: User, challenge_id: int, skill_slot_id: int | None = None) -> Pledge:
    """Pledge to a challenge (for a skills goal: offer oneself for one skill slot).

    Thousands of people may pledge to one challenge within minutes, so the challenge's row lock is
    taken last and held for one statement: the pledge is inserted first (the unique index refuses a
    second active pledge of the same person), then one UPDATE counts it, re-checks that the
    challenge still takes pledges and locks the row until commit. Success, if this pledge reaches
    the goal, happens under that lock, once. A newcomer of the period past the plan's limit of
    active participants is refused (PlanLimitReached) before anything is written.
    """
    require(actor, None)
    writes_allowed()
    challenge = challenge_for_action(challenge_id)
    if challenge.goal_kind == GoalKind.SKILLS:
        return _skill_pledge_create(actor=actor, challenge=challenge, skill_slot_id=skill_slot_id)
    if skill_slot_id is not None:
        raise ValidationError({"skill_slot": [gettext("This challenge has no skill slots.")]})
    now = timezone.now()
    # Joining stays possible after success, until the deadline: the movement keeps growing.
    open_for_action(challenge, now, allow_succeeded=True)
    participant_admit(actor, now)
    pledge = _pledge_insert(challenge, actor)
    totals = totals_add(challenge_id, now, pledges=1)
    if totals is None:
        refuse_closed(challenge_id)
    elif (
        totals.status == Status.OPEN
        and totals.goal_target is not None
        and totals.pledge_count >= totals.goal_target
    ):
        succeed_if_reached(
            challenge_id,
            f"Goal reached with pledge #{pledge.pk}, participant number {totals.pledge_count}",
        )
    return pledge


def _skill_pledge_create(*, actor: User, challenge: Challenge, skill_slot_id: int | None) -> Pledge:
    """Offer oneself for a skill slot: pledge, then the slot's places, then the challenge's count."""
    now = timezone.now()
    open_for_action(challenge, now, allow_succeeded=True)
    if skill_slot_id is None:
        raise ValidationError({"skill_slot": [gettext("Choose the skill you offer.")]})
    if not SkillSlot.objects.filter(pk=skill_slot_id, challenge=challenge).exists():
        raise ValidationError({"skill_slot": [gettext("This skill slot is not part of this challenge.")]})
    participant_admit(actor, now)
    pledge = _pledge_insert(challenge, actor, skill_slot_id=skill_slot_id)
    slot = SkillSlot.objects.select_for_update().get(pk=skill_slot_id)
    if slot.filled_count >= slot.count:
        raise TransitionRefused(gettext("The “%(skill)s” slot is already filled.") % {"skill": slot.skill})
    slot.filled_count += 1
    slot.save(update_fields=["filled_count"])
    totals = totals_add(challenge.pk, now, pledges=1)
    if totals is None:
        refuse_closed(challenge.pk)
    elif totals.status == Status.OPEN:
        succeed_if_reached(challenge.pk, f"Goal reached with pledge #{pledge.pk}")
    return pledge


@atomic_with_retry
def pledge_withdraw(*, actor: User, challenge_id: int) -> Pledge:
    require(actor, None)
    writes_allowed()
    challenge = challenge_for_action(challenge_id)
    if challenge.status != Status.OPEN:
        raise _withdrawal_refused(challenge.status)
    pledge = (
        Pledge.objects.select_for_update()
        .filter(challenge=challenge, user=actor, withdrawn_at__isnull=True)
        .first()
    )
    if pledge is None:
        raise TransitionRefused(gettext("You have not pledged to this challenge."))
    now = timezone.now()
    pledge.withdrawn_at = now
    pledge.save(update_fields=["withdrawn_at"])
    if pledge.skill_slot_id is not None:
        slot = SkillSlot.objects.select_for_update().get(pk=pledge.skill_slot_id)
        slot.filled_count -= 1
        slot.save(update_fields=["filled_count"])
    # Success is final: once it happened, the challenge's row refuses the withdrawal.
    if totals_add(challenge_id, now, pledges=-1, statuses=(Status.OPEN,)) is None:
        challenge.refresh_from_db(fields=["status"])
        raise _withdrawal_refused(challenge.status)
    return pledge


def _withdrawal_refused(status: str) -> TransitionRefused:
    return TransitionRefused(
        gettext("This challenge is %(status)s: pledges can no longer be withdrawn.")
        % {"status": states.status_word(status)}
    )


@atomic_with_retry
def pledge_confirm(*, actor: User, challenge_id: int) -> Pledge:
    """After success, the participant says they did what they pledged."""
    require(actor, None)
    writes_allowed()
    pledge = (
        Pledge.objects.select_for_update(of=("self",))
        .select_related("challenge")
        .filter(challenge_id=challenge_id, user=actor, withdrawn_at__isnull=True)
        .first()
    )
    if pledge is None:
        raise TransitionRefused(gettext("You have not pledged to this challenge."))
    if pledge.challenge.status != Status.SUCCEEDED:
        raise TransitionRefused(gettext("You can confirm once the challenge has succeeded."))
    if pledge.confirmed_at is None:
        pledge.confirmed_at = timezone.now()
        pledge.save(update_fields=["confirmed_at"])
    return pledge
