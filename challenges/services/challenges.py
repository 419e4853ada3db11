"""Writes on challenges: create, edit a draft, publish, cancel, close past the deadline.

Checks raise ValidationError (a message per field) or TransitionRefused (a state conflict) before
anything is written.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import AuditEntry, User
from challenges import states
from challenges.models import Challenge, Counterpart, SkillSlot
from challenges.services.lifecycle import challenge_created_record, challenge_transition, succeed_if_reached
from challenges.services.limits import publish_allowed, writes_allowed
from core.audit import audit_record
from core.db import atomic_with_retry
from core.permissions import MANAGE, require
from core.transitions import TransitionRefused

Status = Challenge.Status
GoalKind = Challenge.GoalKind
Kind = AuditEntry.Kind
# People one skill slot may ask for: a project, not a crowd (a crowd is a participants goal).
SKILL_SLOT_MAX_PEOPLE = 10_000


# Challenges -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkillSlotInput:
    skill: str
    count: int = 1
    hours: Decimal | None = None


@dataclass(frozen=True)
class CounterpartInput:
    description: str
    amount: Decimal | None = None
    currency: str = ""
    due_date: dt.date | None = None


# A challenge runs at most 3 years and starts at most 1 year before or after today (the database holds
# the outer bounds too: challenges.models).
MAX_DURATION = dt.timedelta(days=3 * 365 + 1)
START_WINDOW = dt.timedelta(days=366)
DUE_DATE_LATEST = dt.timedelta(days=5 * 365 + 2)

CHALLENGE_FIELDS = (
    "title", "description", "action", "category", "starts_at", "deadline",
    "goal_kind", "goal_target", "metric",
)  # fmt: skip


def _challenge_check(fields: Mapping[str, Any], skill_slots: list[SkillSlotInput]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    goal_kind = fields.get("goal_kind")
    if goal_kind in (GoalKind.PARTICIPANTS, GoalKind.QUANTITY) and not fields.get("goal_target"):
        add("goal_target", gettext("Set the number to reach."))
    target = fields.get("goal_target")
    if goal_kind == GoalKind.PARTICIPANTS and target is not None and Decimal(target) % 1:
        add("goal_target", gettext("A number of participants is a whole number."))
    if goal_kind == GoalKind.QUANTITY and not fields.get("metric"):
        add("metric", gettext("A quantity goal needs a metric (km, meals, kg…)."))
    if goal_kind != GoalKind.SKILLS and skill_slots:
        add("skill_slots", gettext("Only a skills goal has skill slots."))
    if goal_kind == GoalKind.SKILLS:
        if not skill_slots:
            add("skill_slots", gettext("A skills goal needs at least one skill slot."))
        names = [slot.skill.strip().lower() for slot in skill_slots]
        if len(set(names)) != len(names):
            add("skill_slots", gettext("Each skill appears once; raise its count instead."))
        for slot in skill_slots:
            if not slot.skill.strip():
                add("skill_slots", gettext("Each skill slot needs a name."))
            if slot.count < 1:
                add("skill_slots", gettext("“%(skill)s” needs at least one person.") % {"skill": slot.skill})
            elif slot.count > SKILL_SLOT_MAX_PEOPLE:
                add(
                    "skill_slots",
                    gettext("“%(skill)s” asks for at most %(most)s people.")
                    % {"skill": slot.skill, "most": f"{SKILL_SLOT_MAX_PEOPLE:,}"},
                )
            if slot.hours is not None and slot.hours <= 0:
                add("skill_slots", gettext("“%(skill)s”: hours must be positive.") % {"skill": slot.skill})
            try:
                SkillSlot(skill=slot.skill.strip(), count=slot.count, hours=slot.hours).clean_fields(
                    exclude=["challenge", "filled_count", "filled_hours"]
                )
            except ValidationError as exc:
                for messages in exc.message_dict.values():
                    for message in messages:
                        add("skill_slots", f"“{slot.skill[:40]}”: {message}")
    starts_at, deadline = fields.get("starts_at"), fields.get("deadline")
    now = timezone.now()
    if starts_at and abs(starts_at - now) > START_WINDOW:
        add("starts_at", gettext("A challenge starts at most one year before or after today."))
    elif starts_at and deadline and deadline <= starts_at:
        add("deadline", gettext("The deadline must come after the start."))
    elif starts_at and deadline and deadline - starts_at > MAX_DURATION:
        add("deadline", gettext("A challenge runs at most three years: set an earlier deadline."))
    return errors


def _counterpart_check(data: CounterpartInput | None, errors: dict[str, list[str]]) -> None:
    """Counterpart errors go under "counterpart" (its description) and "counterpart.<field>"."""
    if data is None:
        return
    if not data.description.strip():
        errors.setdefault("counterpart", []).append(gettext("Describe what the organisation commits to."))
    counterpart = Counterpart(
        description=data.description.strip() or "-",
        amount=data.amount,
        currency=data.currency.upper(),
        due_date=data.due_date,
    )
    try:
        counterpart.clean_fields(exclude=["challenge", "proof_file"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            key = "counterpart" if field == "description" else f"counterpart.{field}"
            errors.setdefault(key, []).extend(messages)
    if data.due_date is not None and not (
        timezone.localdate() - START_WINDOW <= data.due_date <= timezone.localdate() + DUE_DATE_LATEST
    ):
        errors.setdefault("counterpart.due_date", []).append(
            gettext("Set a due date within five years from today.")
        )
    if data.amount is not None and not data.currency.strip():
        errors.setdefault("counterpart.currency", []).append(
            gettext("Give the currency of the amount (EUR, USD…).")
        )


def _validated(challenge: Challenge, errors: dict[str, list[str]]) -> None:
    try:
        # The table constraints repeat what _challenge_check said next to the field, in worse words.
        challenge.full_clean(exclude=["created_by"], validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@atomic_with_retry
def challenge_create(
    *,
    actor: User,
    fields: Mapping[str, Any],
    skill_slots: Iterable[SkillSlotInput] = (),
    counterpart: CounterpartInput | None = None,
    template_key: str = "",
) -> Challenge:
    """Create a draft challenge, with its skill slots and its counterpart."""
    require(actor, MANAGE)
    writes_allowed()
    slots = list(skill_slots)
    challenge = Challenge(**{key: fields.get(key) for key in CHALLENGE_FIELDS if key in fields})
    challenge.description = challenge.description or ""
    challenge.action = challenge.action or ""
    challenge.template_key = template_key
    challenge.created_by = actor
    if challenge.goal_kind == GoalKind.SKILLS:
        challenge.goal_target = None
    if challenge.goal_kind != GoalKind.QUANTITY:
        challenge.metric = None
    errors = _challenge_check(fields, slots)
    _counterpart_check(counterpart, errors)
    _validated(challenge, errors)
    challenge.save()
    _skill_slots_replace(challenge, slots)
    if counterpart is not None:
        _counterpart_set(challenge, counterpart)
    challenge_created_record(challenge, actor)
    audit_record(Kind.CHALLENGE_CREATED, actor=actor, target=challenge.title)
    return challenge


@atomic_with_retry
def challenge_update(
    *,
    actor: User,
    challenge_id: int,
    fields: Mapping[str, Any],
    skill_slots: Iterable[SkillSlotInput] | None = None,
    counterpart: CounterpartInput | None = None,
    remove_counterpart: bool = False,
) -> Challenge:
    """Edit a draft. Once published, a challenge's terms are a promise and stay as they are.

    `counterpart=None` leaves the counterpart as it is; `remove_counterpart` withdraws it.
    """
    require(actor, MANAGE)
    writes_allowed()
    challenge = challenge_locked(challenge_id)
    if challenge.status != Status.DRAFT:
        raise TransitionRefused(
            gettext("Only a draft can be edited; this challenge is %(status)s.")
            % {"status": states.status_word(challenge.status)}
        )
    for key in CHALLENGE_FIELDS:
        if key in fields:
            setattr(challenge, key, fields[key])
    if challenge.goal_kind == GoalKind.SKILLS:
        challenge.goal_target = None
    if challenge.goal_kind != GoalKind.QUANTITY:
        challenge.metric = None
    if skill_slots is None and challenge.goal_kind != GoalKind.SKILLS:
        skill_slots = []  # another kind of goal: the slots of a former skills goal go
    slots = list(skill_slots) if skill_slots is not None else [
        SkillSlotInput(slot.skill, slot.count, slot.hours) for slot in challenge.skill_slots.all()
    ]  # fmt: skip
    merged = {key: getattr(challenge, key) for key in CHALLENGE_FIELDS}
    errors = _challenge_check(merged, slots)
    _counterpart_check(counterpart, errors)
    _validated(challenge, errors)
    challenge.save()
    if skill_slots is not None:
        _skill_slots_replace(challenge, slots)
    if counterpart is not None:
        _counterpart_set(challenge, counterpart)
    elif remove_counterpart:
        Counterpart.objects.filter(challenge=challenge).delete()
    return challenge


def _skill_slots_replace(challenge: Challenge, slots: list[SkillSlotInput]) -> None:
    challenge.skill_slots.all().delete()
    SkillSlot.objects.bulk_create(
        SkillSlot(challenge=challenge, skill=slot.skill.strip(), count=slot.count, hours=slot.hours)
        for slot in slots
    )


def _counterpart_set(challenge: Challenge, data: CounterpartInput) -> None:
    Counterpart.objects.update_or_create(
        challenge=challenge,
        defaults={
            "description": data.description.strip(),
            "amount": data.amount,
            "currency": data.currency.upper(),
            "due_date": data.due_date,
        },
    )


def challenge_locked(challenge_id: int) -> Challenge:
    try:
        # FOR NO KEY UPDATE: inserting a pledge or a contribution (a key-share lock through its foreign
        # key) does not wait for it; their UPDATE of the totals does.
        return Challenge.objects.select_for_update(no_key=True).get(pk=challenge_id)
    except Challenge.DoesNotExist as exc:
        raise ValidationError({"challenge": [gettext("This challenge does not exist.")]}) from exc


@atomic_with_retry
def challenge_publish(*, actor: User, challenge_id: int) -> Challenge:
    """Open a complete draft; refused (PlanLimitReached) when the plan's open challenges are all
    taken, counted under a lock that serialises the organisation's publishes."""
    require(actor, states.CHALLENGE_TRANSITIONS["publish"].permission)
    writes_allowed()
    challenge = challenge_locked(challenge_id)
    states.check_transition("challenge", "publish", challenge.status)
    now = timezone.now()
    if challenge.deadline <= now:
        raise ValidationError({"deadline": [gettext("The deadline has passed: move it before publishing.")]})
    if challenge.goal_kind == GoalKind.SKILLS and not challenge.skill_slots.exists():
        raise ValidationError({"skill_slots": [gettext("A skills goal needs at least one skill slot.")]})
    publish_allowed(now)
    challenge_transition(challenge, "publish", actor=actor, cause="Published")
    audit_record(Kind.CHALLENGE_PUBLISHED, actor=actor, target=challenge.title)
    return challenge


@atomic_with_retry
def challenge_cancel(*, actor: User, challenge_id: int, cause: str) -> Challenge:
    require(actor, states.CHALLENGE_TRANSITIONS["cancel"].permission)
    writes_allowed()
    challenge = challenge_locked(challenge_id)
    states.check_transition("challenge", "cancel", challenge.status)
    if not cause.strip():
        raise ValidationError(
            {"cause": [gettext("Say why the challenge is cancelled: participants will read it.")]}
        )
    challenge_transition(challenge, "cancel", actor=actor, cause=cause.strip())
    audit_record(
        Kind.CHALLENGE_CANCELLED,
        actor=actor,
        target=challenge.title,
        changes=[{"field": "cause", "old": None, "new": cause.strip()}],
    )
    return challenge


@atomic_with_retry
def challenge_close_if_expired(*, challenge_id: int, now: dt.datetime | None = None) -> bool:
    """Fail an open challenge whose deadline passed short of its goal. Safe to run any number of times.

    The system does this (beat, every few minutes): it needs no actor.
    """
    now = now or timezone.now()
    challenge = Challenge.objects.select_for_update(no_key=True).filter(pk=challenge_id).first()
    if challenge is None or challenge.status != Status.OPEN or challenge.deadline > now:
        return False
    if succeed_if_reached(challenge.pk, "The goal was reached"):
        return False
    challenge_transition(challenge, "fail", actor=None, cause="Deadline passed short of the goal")
    return True
