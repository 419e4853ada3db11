"""Writes on challenges, teams, pledges and contributions, in the current organisation's schema.

Checks raise ValidationError (a message per field) or TransitionRefused (a state conflict) before
anything is written. Every write that moves a total takes the challenge's row lock first, so
concurrent pledges are counted exactly once and success fires exactly once.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from accounts.models import User
from challenges import states
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    ImpactFactor,
    Metric,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from challenges.states import TransitionRefused
from core.db import atomic_with_retry
from tenants.background import enqueue_on_commit

Status = Challenge.Status
GoalKind = Challenge.GoalKind
# Hours one person may log against a skill slot in one day.
SKILL_HOURS_DAILY_CAP = Decimal(12)
# People one skill slot may ask for: a project, not a crowd (a crowd is a participants goal).
SKILL_SLOT_MAX_PEOPLE = 10_000


# Teams ------------------------------------------------------------------------------------------


def team_create(*, name: str, kind: str = Team.Kind.DEPARTMENT, captain: User | None = None) -> Team:
    team = Team(name=name.strip(), kind=kind, captain=captain)
    team.full_clean()
    team.save()
    return team


def team_update(*, team: Team, name: str, kind: str, captain: User | None) -> Team:
    # Checked on a copy, so a refused edit leaves the caller's instance as it was.
    candidate = Team(pk=team.pk, name=name.strip(), kind=kind, captain=captain, created_at=team.created_at)
    candidate._state.adding = False
    candidate.full_clean()
    team.name, team.kind, team.captain = candidate.name, candidate.kind, candidate.captain
    team.save(update_fields=["name", "kind", "captain"])
    return team


def team_delete(*, team: Team) -> None:
    if team.memberships.exists():
        raise ValidationError(
            {"team": [gettext("This team still has members: move them to another team first.")]}
        )
    team.delete()


def team_join(*, user: User, team: Team) -> TeamMembership:
    """Put a person in a team, moving them out of their previous one."""
    membership, _ = TeamMembership.objects.update_or_create(user=user, defaults={"team": team})
    return membership


def _team_of(user: User) -> Team | None:
    membership = TeamMembership.objects.filter(user=user).select_related("team").first()
    return membership.team if membership else None


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


def _require(actor: User, permission: str | None) -> None:
    if permission and not actor.has_perm(permission):
        raise PermissionDenied(gettext("Only an organisation admin can do this."))


def _record(
    challenge: Challenge, subject: str, from_status: str, to_status: str, actor: User | None, cause: str
) -> None:
    ChallengeEvent.objects.create(
        challenge=challenge,
        subject=subject,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        cause=cause,
    )


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
    _require(actor, states.MANAGE)
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
    _record(challenge, ChallengeEvent.Subject.CHALLENGE, "", Status.DRAFT, actor, "Created")
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
    _require(actor, states.MANAGE)
    challenge = _locked(challenge_id)
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


def _locked(challenge_id: int) -> Challenge:
    try:
        # FOR NO KEY UPDATE: inserting a pledge or a contribution (a key-share lock through its foreign
        # key) does not wait for it; their UPDATE of the totals does.
        return Challenge.objects.select_for_update(no_key=True).get(pk=challenge_id)
    except Challenge.DoesNotExist as exc:
        raise ValidationError({"challenge": [gettext("This challenge does not exist.")]}) from exc


@atomic_with_retry
def challenge_publish(*, actor: User, challenge_id: int) -> Challenge:
    _require(actor, states.CHALLENGE_TRANSITIONS["publish"].permission)
    challenge = _locked(challenge_id)
    transition = states.check_transition(
        states.CHALLENGE_TRANSITIONS, "publish", challenge.status, "challenge"
    )
    if challenge.deadline <= timezone.now():
        raise ValidationError({"deadline": [gettext("The deadline has passed: move it before publishing.")]})
    if challenge.goal_kind == GoalKind.SKILLS and not challenge.skill_slots.exists():
        raise ValidationError({"skill_slots": [gettext("A skills goal needs at least one skill slot.")]})
    challenge.status = transition.target
    challenge.save(update_fields=["status", "updated_at"])
    _record(challenge, ChallengeEvent.Subject.CHALLENGE, Status.DRAFT, transition.target, actor, "Published")
    return challenge


@atomic_with_retry
def challenge_cancel(*, actor: User, challenge_id: int, cause: str) -> Challenge:
    _require(actor, states.CHALLENGE_TRANSITIONS["cancel"].permission)
    challenge = _locked(challenge_id)
    transition = states.check_transition(
        states.CHALLENGE_TRANSITIONS, "cancel", challenge.status, "challenge"
    )
    if not cause.strip():
        raise ValidationError(
            {"cause": [gettext("Say why the challenge is cancelled: participants will read it.")]}
        )
    previous = challenge.status
    challenge.status = transition.target
    challenge.save(update_fields=["status", "updated_at"])
    _record(challenge, ChallengeEvent.Subject.CHALLENGE, previous, transition.target, actor, cause.strip())
    _counterpart_move(challenge, "void", actor=None, cause="The challenge was cancelled")
    return challenge


def _goal_reached(challenge: Challenge) -> bool:
    if challenge.goal_kind == GoalKind.PARTICIPANTS:
        return challenge.goal_target is not None and challenge.pledge_count >= challenge.goal_target
    if challenge.goal_kind == GoalKind.QUANTITY:
        return challenge.goal_target is not None and challenge.quantity_total >= challenge.goal_target
    slots = list(challenge.skill_slots.all())
    return bool(slots) and all(slot.is_filled for slot in slots)


def _succeed_if_reached(challenge: Challenge, cause: str) -> bool:
    """Called under the challenge's row lock: success happens once, the moment the goal is reached."""
    if challenge.status != Status.OPEN or not _goal_reached(challenge):
        return False
    transition = states.CHALLENGE_TRANSITIONS["succeed"]
    challenge.status = transition.target
    challenge.succeeded_at = timezone.now()
    challenge.save(update_fields=["status", "succeeded_at", "updated_at"])
    _record(challenge, ChallengeEvent.Subject.CHALLENGE, Status.OPEN, transition.target, None, cause)
    _counterpart_move(challenge, "fall_due", actor=None, cause="The goal was reached")
    from challenges.tasks import notify_challenge_event

    enqueue_on_commit(notify_challenge_event, challenge.pk, "goal_reached")
    return True


def _counterpart_move(
    challenge: Challenge, name: str, *, actor: User | None, cause: str
) -> Counterpart | None:
    counterpart = Counterpart.objects.select_for_update().filter(challenge=challenge).first()
    if counterpart is None:
        return None
    transition = states.check_transition(
        states.COUNTERPART_TRANSITIONS, name, counterpart.status, "counterpart"
    )
    previous = counterpart.status
    counterpart.status = transition.target
    counterpart.save(update_fields=["status"])
    _record(challenge, ChallengeEvent.Subject.COUNTERPART, previous, transition.target, actor, cause)
    return counterpart


@atomic_with_retry
def challenge_close_if_expired(*, challenge_id: int, now: dt.datetime | None = None) -> bool:
    """Fail an open challenge whose deadline passed short of its goal. Safe to run any number of times."""
    now = now or timezone.now()
    challenge = Challenge.objects.select_for_update(no_key=True).filter(pk=challenge_id).first()
    if challenge is None or challenge.status != Status.OPEN or challenge.deadline > now:
        return False
    if _succeed_if_reached(challenge, "The goal was reached"):
        return False
    transition = states.CHALLENGE_TRANSITIONS["fail"]
    challenge.status = transition.target
    challenge.save(update_fields=["status", "updated_at"])
    _record(
        challenge,
        ChallengeEvent.Subject.CHALLENGE,
        Status.OPEN,
        transition.target,
        None,
        "Deadline passed short of the goal",
    )
    _counterpart_move(challenge, "void", actor=None, cause="The challenge failed")
    return True


@atomic_with_retry
def counterpart_deliver(
    *,
    actor: User,
    challenge_id: int,
    proof_text: str = "",
    proof_url: str = "",
    proof_file: UploadedFile | None = None,
) -> Counterpart:
    """Record that the organisation delivered what it promised, with proof."""
    _require(actor, states.COUNTERPART_TRANSITIONS["deliver"].permission)
    challenge = _locked(challenge_id)
    counterpart = Counterpart.objects.select_for_update().filter(challenge=challenge).first()
    if counterpart is None:
        raise TransitionRefused(gettext("This challenge has no counterpart to deliver."))
    transition = states.check_transition(
        states.COUNTERPART_TRANSITIONS, "deliver", counterpart.status, "counterpart"
    )
    _require(actor, transition.permission)
    if not (proof_text.strip() or proof_url.strip() or proof_file):
        raise ValidationError(
            {"proof_text": [gettext("Give a proof of delivery: a text, a link or a file.")]}
        )
    counterpart.proof_text, counterpart.proof_url = proof_text.strip(), proof_url.strip()
    if proof_file:
        counterpart.proof_file = proof_file
    counterpart.full_clean(exclude=["challenge"])
    counterpart.status = transition.target
    counterpart.delivered_at = timezone.now()
    counterpart.save()
    _record(
        challenge,
        ChallengeEvent.Subject.COUNTERPART,
        states.CounterpartStatus.DUE,
        transition.target,
        actor,
        "Delivered",
    )
    from challenges.tasks import notify_challenge_event

    enqueue_on_commit(notify_challenge_event, challenge.pk, "counterpart_delivered")
    return counterpart


# Pledges ----------------------------------------------------------------------------------------
#
# Lock order, in every write that moves a total: the person's pledge row first (the unique index of
# active pledges serialises one person's writes on one challenge), then the skill slot, then the
# challenge's row, last and for as short a time as possible (one UPDATE ... RETURNING that also
# re-checks that the challenge still takes the action). Two writes never wait for each other in a
# cycle; core.db.atomic_with_retry runs again whatever PostgreSQL still aborts.


def _open_for_action(challenge: Challenge, now: dt.datetime, *, allow_succeeded: bool = False) -> None:
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


PLEDGE_UNIQUE_CONSTRAINT = "pledge_one_active_per_person"
TAKING_ACTION = (Status.OPEN, Status.SUCCEEDED)


@dataclass(frozen=True)
class Totals:
    """The challenge's row as the UPDATE that moved its totals left it (under its lock until commit)."""

    pledge_count: int
    quantity_total: Decimal
    status: str
    goal_target: Decimal | None


def _totals_add(
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


def _refuse_closed(challenge_id: int) -> NoReturn:
    """The challenge closed between the first look and the lock: say why (the caller rolls back)."""
    _open_for_action(Challenge.objects.get(pk=challenge_id), timezone.now(), allow_succeeded=True)
    raise TransitionRefused(gettext("This challenge does not take this any more."))


def _challenge_for_action(challenge_id: int) -> Challenge:
    challenge = (
        Challenge.objects.only("id", "title", "status", "goal_kind", "starts_at", "deadline", "metric_id")
        .filter(pk=challenge_id)
        .first()
    )
    if challenge is None:
        raise ValidationError({"challenge": [gettext("This challenge does not exist.")]})
    return challenge


def _pledge_insert(challenge: Challenge, user: User, **fields: Any) -> Pledge:
    """The person's active pledge, new: the unique index refuses a second one."""
    try:
        with transaction.atomic():
            return Pledge.objects.create(challenge=challenge, user=user, team=_team_of(user), **fields)
    except IntegrityError as exc:
        if PLEDGE_UNIQUE_CONSTRAINT not in str(exc):
            raise
        raise TransitionRefused(gettext("You have already pledged to this challenge.")) from exc


@atomic_with_retry
def pledge_create(*, user: User, challenge_id: int, skill_slot_id: int | None = None) -> Pledge:
    """Pledge to a challenge (for a skills goal: offer oneself for one skill slot).

    Thousands of people may pledge to one challenge within minutes, so the challenge's row lock is
    taken last and held for one statement: the pledge is inserted first (the unique index refuses a
    second active pledge of the same person), then one UPDATE counts it, re-checks that the
    challenge still takes pledges and locks the row until commit. Success, if this pledge reaches
    the goal, happens under that lock, once.
    """
    challenge = _challenge_for_action(challenge_id)
    if challenge.goal_kind == GoalKind.SKILLS:
        return _skill_pledge_create(user=user, challenge=challenge, skill_slot_id=skill_slot_id)
    if skill_slot_id is not None:
        raise ValidationError({"skill_slot": [gettext("This challenge has no skill slots.")]})
    now = timezone.now()
    # Joining stays possible after success, until the deadline: the movement keeps growing.
    _open_for_action(challenge, now, allow_succeeded=True)
    pledge = _pledge_insert(challenge, user)
    totals = _totals_add(challenge_id, now, pledges=1)
    if totals is None:
        _refuse_closed(challenge_id)
    elif (
        totals.status == Status.OPEN
        and totals.goal_target is not None
        and totals.pledge_count >= totals.goal_target
    ):
        _succeed_if_reached(
            Challenge.objects.get(pk=challenge_id),
            f"Goal reached with pledge #{pledge.pk}, participant number {totals.pledge_count}",
        )
    return pledge


def _skill_pledge_create(*, user: User, challenge: Challenge, skill_slot_id: int | None) -> Pledge:
    """Offer oneself for a skill slot: pledge, then the slot's places, then the challenge's count."""
    now = timezone.now()
    _open_for_action(challenge, now, allow_succeeded=True)
    if skill_slot_id is None:
        raise ValidationError({"skill_slot": [gettext("Choose the skill you offer.")]})
    if not SkillSlot.objects.filter(pk=skill_slot_id, challenge=challenge).exists():
        raise ValidationError({"skill_slot": [gettext("This skill slot is not part of this challenge.")]})
    pledge = _pledge_insert(challenge, user, skill_slot_id=skill_slot_id)
    slot = SkillSlot.objects.select_for_update().get(pk=skill_slot_id)
    if slot.filled_count >= slot.count:
        raise TransitionRefused(gettext("The “%(skill)s” slot is already filled.") % {"skill": slot.skill})
    slot.filled_count += 1
    slot.save(update_fields=["filled_count"])
    totals = _totals_add(challenge.pk, now, pledges=1)
    if totals is None:
        _refuse_closed(challenge.pk)
    elif totals.status == Status.OPEN:
        _succeed_if_reached(Challenge.objects.get(pk=challenge.pk), f"Goal reached with pledge #{pledge.pk}")
    return pledge


@atomic_with_retry
def pledge_withdraw(*, user: User, challenge_id: int) -> Pledge:
    challenge = _challenge_for_action(challenge_id)
    if challenge.status != Status.OPEN:
        raise _withdrawal_refused(challenge.status)
    pledge = (
        Pledge.objects.select_for_update()
        .filter(challenge=challenge, user=user, withdrawn_at__isnull=True)
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
    if _totals_add(challenge_id, now, pledges=-1, statuses=(Status.OPEN,)) is None:
        challenge.refresh_from_db(fields=["status"])
        raise _withdrawal_refused(challenge.status)
    return pledge


def _withdrawal_refused(status: str) -> TransitionRefused:
    return TransitionRefused(
        gettext("This challenge is %(status)s: pledges can no longer be withdrawn.")
        % {"status": states.status_word(status)}
    )


@atomic_with_retry
def pledge_confirm(*, user: User, challenge_id: int) -> Pledge:
    """After success, the participant says they did what they pledged."""
    pledge = (
        Pledge.objects.select_for_update(of=("self",))
        .select_related("challenge")
        .filter(challenge_id=challenge_id, user=user, withdrawn_at__isnull=True)
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


# Contributions ----------------------------------------------------------------------------------


def _active_pledge_locked(challenge: Challenge, user: User, **filters: Any) -> Pledge | None:
    return (
        Pledge.objects.select_for_update()
        .filter(challenge=challenge, user=user, withdrawn_at__isnull=True, **filters)
        .first()
    )


def _pledge_insert_if_none(challenge: Challenge, user: User, now: dt.datetime) -> bool:
    """Insert the person's active pledge unless they have one; True if this inserted it."""
    team = _team_of(user)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO challenges_pledge (challenge_id, user_id, team_id, created_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [challenge.pk, user.pk, team.pk if team else None, now],
        )
        return cursor.fetchone() is not None


@atomic_with_retry
def contribution_create(
    *,
    user: User,
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
    their own entries for the cap; the challenge's row comes last.
    """
    challenge = _challenge_for_action(challenge_id)
    now = timezone.now()
    today = today or timezone.localdate(now)
    errors: dict[str, list[str]] = {}
    if challenge.goal_kind == GoalKind.PARTICIPANTS:
        raise TransitionRefused(gettext("This challenge counts pledges, not quantities."))
    _open_for_action(challenge, now, allow_succeeded=True)
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
        team=pledge.team if pledge is not None else _team_of(user),
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
    totals = _totals_add(
        challenge_id, now, pledges=int(new_pledge), quantity=amount if slot is None else Decimal(0)
    )
    if totals is None:
        _refuse_closed(challenge_id)
    elif totals.status == Status.OPEN:
        _succeed_if_reached(
            Challenge.objects.get(pk=challenge_id), f"Goal reached with contribution #{contribution.pk}"
        )
    return contribution


# Metrics ----------------------------------------------------------------------------------------


def metric_create(
    *,
    actor: User,
    name_en: str,
    unit_en: str,
    daily_cap: Decimal,
    key: str = "",
    name_fr: str = "",
    unit_fr: str = "",
    baseline_factor: ImpactFactor | None = None,
    action_factor: ImpactFactor | None = None,
) -> Metric:
    """An organisation's own metric. CO2e avoided per unit = baseline factor − action factor, so an
    action factor alone means nothing: it needs the baseline it replaces."""
    _require(actor, states.MANAGE)
    errors: dict[str, list[str]] = {}
    if action_factor is not None and baseline_factor is None:
        errors["baseline_factor"] = [gettext("An action factor needs the baseline it replaces.")]
    metric = Metric(
        key=key.strip() or slugify(name_en)[:80],
        name_en=name_en.strip(),
        name_fr=name_fr.strip() or name_en.strip(),
        unit_en=unit_en.strip(),
        unit_fr=unit_fr.strip() or unit_en.strip(),
        daily_cap=daily_cap,
        baseline_factor=baseline_factor,
        action_factor=action_factor,
        is_builtin=False,
    )
    try:
        metric.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    metric.save()
    return metric
