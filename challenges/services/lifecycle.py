"""The one write path of each lifecycle: every status change of a challenge or of its counterpart.

Each checks the transition table (challenges/states.py) and the actor's permission, records the
real previous state with the actor and the cause, and does its effects here, in plain sight: a
counterpart falls due or becomes void with its challenge, e-mails are queued for after the commit.
The caller holds the challenge's row lock.
"""

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from challenges import states
from challenges.models import Challenge, ChallengeEvent, Counterpart, SkillSlot
from challenges.selectors.progress import goal_reached
from core.permissions import require
from core.transitions import TransitionRefused
from tenants.background import enqueue_on_commit

NOTIFY_TASK = "challenges.tasks.notify_challenge_event"
Status = Challenge.Status


def _record(
    challenge: Challenge, subject: str, previous: str, target: str, actor: User | None, cause: str
) -> None:
    ChallengeEvent.objects.create(
        challenge=challenge, subject=subject, from_status=previous, to_status=target, actor=actor, cause=cause
    )


def challenge_created_record(challenge: Challenge, actor: User) -> None:
    """A new draft's first history row: from nothing to draft."""
    _record(challenge, ChallengeEvent.Subject.CHALLENGE, "", challenge.status, actor, "Created")


def challenge_transition(challenge: Challenge, name: str, *, actor: User | None, cause: str) -> Challenge:
    """Move a challenge (locked by the caller) through transition `name`, with its effects."""
    transition = states.check_transition("challenge", name, challenge.status)
    if transition.permission is not None:
        require(actor, transition.permission)
    previous = challenge.status
    challenge.status = transition.target
    fields = ["status", "updated_at"]
    if transition.target == Status.SUCCEEDED:
        challenge.succeeded_at = timezone.now()
        fields.append("succeeded_at")
    challenge.save(update_fields=fields)
    _record(challenge, ChallengeEvent.Subject.CHALLENGE, previous, transition.target, actor, cause)
    if transition.target == Status.SUCCEEDED:
        counterpart_transition(challenge, "fall_due", actor=None, cause="The goal was reached")
        enqueue_on_commit(NOTIFY_TASK, challenge.pk, "goal_reached")
    elif transition.target == Status.FAILED:
        counterpart_transition(challenge, "void", actor=None, cause="The challenge failed")
    elif transition.target == Status.CANCELLED:
        counterpart_transition(challenge, "void", actor=None, cause="The challenge was cancelled")
    return challenge


def counterpart_transition(
    challenge: Challenge, name: str, *, actor: User | None, cause: str, **changes: Any
) -> Counterpart | None:
    """Move the challenge's counterpart through transition `name`; `changes` are its fields to set
    (the proof of a delivery). A challenge without a counterpart has nothing to move (None), unless
    a person asked for the move."""
    counterpart = Counterpart.objects.select_for_update().filter(challenge=challenge).first()
    if counterpart is None:
        if actor is not None:
            raise TransitionRefused(gettext("This challenge has no counterpart to deliver."))
        return None
    transition = states.check_transition("counterpart", name, counterpart.status)
    if transition.permission is not None:
        require(actor, transition.permission)
    previous = counterpart.status
    for field, value in changes.items():
        setattr(counterpart, field, value)
    counterpart.status = transition.target
    if transition.target == Counterpart.Status.DELIVERED:
        counterpart.delivered_at = timezone.now()
        counterpart.full_clean(exclude=["challenge"])
    counterpart.save()
    _record(challenge, ChallengeEvent.Subject.COUNTERPART, previous, transition.target, actor, cause)
    if transition.target == Counterpart.Status.DELIVERED:
        enqueue_on_commit(NOTIFY_TASK, challenge.pk, "counterpart_delivered")
    return counterpart


def succeed_if_reached(challenge_id: int, cause: str) -> bool:
    """Called under the challenge's row lock: success happens once, the moment the goal is reached."""
    challenge = (
        Challenge.objects.prefetch_related(Prefetch("skill_slots", queryset=SkillSlot.objects.order_by("pk")))
        .filter(pk=challenge_id)
        .get()
    )
    if challenge.status != Status.OPEN or not goal_reached(challenge):
        return False
    challenge_transition(challenge, "succeed", actor=None, cause=cause)
    return True
