"""Writing the demo's past: four months of pledges, contributions and transitions, written today.

Why this module exists: the product's services refuse the past by design. They stamp what they do
with timezone.now(), a pledge or a contribution is refused outside the challenge's window or in the
future, and a challenge whose deadline has passed cannot be published. That is right for the product
and wrong for a demo that must show four months of history. So the demo, and only the demo:

- still goes through the services for every act an admin or the system performs (create, publish,
  cancel, succeed, fail, deliver, team, role, join link), so that the challenge events and the audit
  entries exist exactly as the product writes them, then moves their stamps to the story's time
  (`happened_at`);
- publishes a challenge whose deadline is past with a provisional deadline, then moves it back;
- writes participants' pledges and contributions in bulk, with the times the plan gave them
  (`stamps_set`: the models stamp these fields on insert), then recounts the challenge's running
  totals from those rows (`totals_recount`) before asking the lifecycle whether the goal is reached;
- records the e-mails the product would have sent back then as sent (`notifications_sent`), so that
  the worker does not e-mail hundreds of people about a success four months old.

Nothing outside demo/ may import this.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count, DecimalField, Field, IntegerField, Model, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import AuditEntry, Notification, User
from accounts.people import person_deactivate, person_role_set
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT, ROLE_OF_GROUP, roles_sync
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    Metric,
    Pledge,
    SkillSlot,
    Team,
    TeamMembership,
)
from challenges.services import (
    CounterpartInput,
    SkillSlotInput,
    challenge_cancel,
    challenge_close_if_expired,
    challenge_create,
    challenge_publish,
    counterpart_deliver,
)
from challenges.services.lifecycle import succeed_if_reached
from challenges.services.notifications import challenge_event_key
from demo.plan import DAY, HOUR, MINUTE, ChallengePlan, OrganizationPlan
from participants.models import JoinLink

GoalKind = Challenge.GoalKind

# What the services stamp with the present, and the field that holds the stamp.
STAMPED: tuple[tuple[type[Model], str], ...] = (
    (AuditEntry, "at"),
    (ChallengeEvent, "at"),
    (Challenge, "created_at"),
    (Team, "created_at"),
    (JoinLink, "created_at"),
)


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@contextmanager
def happened_at(moment: dt.datetime) -> Iterator[None]:
    """Whatever the block writes into STAMPED (audit entries, challenge events, new challenges, teams,
    join links) is dated `moment` instead of now. Nothing else writes while the demo seeds."""
    maxima = ", ".join(f"(SELECT COALESCE(MAX(id), 0) FROM {_table(m)})" for m, _ in STAMPED)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {maxima}")
        before = cursor.fetchone()
    yield
    for (model, field), last in zip(STAMPED, before, strict=True):
        model._default_manager.filter(pk__gt=last).update(**{field: moment})


def stamps_set(model: type[Model], field: str, stamps: Iterable[tuple[int, dt.datetime]]) -> None:
    """Set `field` of each row (by primary key) to its time, in one statement."""
    pairs = list(stamps)
    if not pairs:
        return
    model_field = model._meta.get_field(field)
    assert isinstance(model_field, Field)  # noqa: S101 - a concrete field, not a relation's other end
    column = connection.ops.quote_name(model_field.column or field)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table(model)} AS row SET {column} = stamp.at "  # noqa: S608 - names from the model
            "FROM unnest(%s::bigint[], %s::timestamptz[]) AS stamp(id, at) WHERE row.id = stamp.id",
            [[pk for pk, _ in pairs], [at for _, at in pairs]],
        )


def totals_recount(challenge: Challenge) -> None:
    """The running totals the services keep, recounted from the rows: active pledges, the quantity
    logged, each skill slot's people and hours."""
    active = Pledge.objects.filter(challenge=OuterRef("pk"), withdrawn_at__isnull=True)
    logged = Contribution.objects.filter(challenge=OuterRef("pk"), skill_slot__isnull=True)
    Challenge.objects.filter(pk=challenge.pk).update(
        pledge_count=Coalesce(
            Subquery(active.values("challenge").annotate(n=Count("pk")).values("n")),
            Value(0),
            output_field=IntegerField(),
        ),
        quantity_total=Coalesce(
            Subquery(logged.values("challenge").annotate(total=Sum("amount")).values("total")),
            Value(Decimal(0)),
            output_field=DecimalField(),
        ),
    )
    slot_people = Pledge.objects.filter(skill_slot=OuterRef("pk"), withdrawn_at__isnull=True)
    slot_hours = Contribution.objects.filter(skill_slot=OuterRef("pk"))
    SkillSlot.objects.filter(challenge=challenge).update(
        filled_count=Coalesce(
            Subquery(slot_people.values("skill_slot").annotate(n=Count("pk")).values("n")),
            Value(0),
            output_field=IntegerField(),
        ),
        filled_hours=Coalesce(
            Subquery(slot_hours.values("skill_slot").annotate(total=Sum("amount")).values("total")),
            Value(Decimal(0)),
            output_field=DecimalField(),
        ),
    )
    challenge.refresh_from_db(fields=["pledge_count", "quantity_total"])


def notifications_sent(challenge: Challenge, event: str, at: dt.datetime, language: str) -> int:
    """Record the e-mail about `event` as sent at `at` to everyone the product tells (active people
    with an active pledge, and the admins): the worker then finds nobody left to tell. Someone who
    pledged later was told when they pledged."""
    active = Pledge.objects.filter(challenge=challenge, withdrawn_at__isnull=True, user__is_active=True)
    pledged = dict(active.values_list("user_id", "created_at"))
    recipients = User.objects.filter(is_active=True).filter(
        pk__in=[*pledged, *User.objects.filter(groups__name=ORG_ADMIN).values_list("pk", flat=True)]
    )
    key = challenge_event_key(challenge.pk, event)
    rows = []
    for user in recipients.only("pk", "email", "language"):
        sent_at = max(at, pledged.get(user.pk, at)) + dt.timedelta(minutes=2)
        rows.append(
            Notification(
                event=key, recipient=user.email.lower(), language=user.language or language, user=user,
                sent_at=sent_at,
            )
        )  # fmt: skip
    created = Notification.objects.bulk_create(rows)
    stamps_set(Notification, "created_at", [(row.pk, row.sent_at) for row in created if row.sent_at])
    return len(created)


# People ------------------------------------------------------------------------------------------


def people_write(
    plan: OrganizationPlan, *, admin: User, teams: list[Team], password: Callable[[], str]
) -> list[User]:
    """The plan's people, in its order: those missing are created in bulk as participants, with the
    times they joined and were last seen; the admin then makes the executives executives and
    deactivates those who left, through the services, at the story's times. Only the printed demo
    sign-ins get a password (`password()`, hashed once); the others sign in by e-mail link."""
    existing = {user.email: user for user in User.objects.filter(email__in=[p.email for p in plan.people])}
    unusable = make_password(None)
    fresh = [
        User(
            email=person.email,
            display_name=person.name,
            password=password() if person.password else unusable,
            date_joined=person.arrival,
            last_seen_at=min(person.last_seen, plan.now),
            show_name=person.show_name,
            language=person.language,
        )
        for person in plan.people
        if person.email not in existing
    ]
    User.objects.bulk_create(fresh, batch_size=1000)
    group = Group.objects.filter(name=PARTICIPANT).first() or roles_sync()[PARTICIPANT]
    through = User.groups.through
    through.objects.bulk_create(
        [through(user_id=user.pk, group_id=group.pk) for user in fresh], batch_size=2000
    )
    users = {**existing, **{user.email: user for user in fresh}}
    new = [person for person in plan.people if person.email not in existing]
    memberships = [
        (TeamMembership(user=users[person.email], team=teams[person.team]), person.arrival)
        for person in new
        if person.team is not None
    ]
    TeamMembership.objects.bulk_create([membership for membership, _ in memberships], batch_size=2000)
    # They pick their team right after signing in for the first time.
    stamps_set(TeamMembership, "joined_at", [(m.pk, arrival + 3 * MINUTE) for m, arrival in memberships])
    for person in new:
        if person.role_set_at is not None:
            with happened_at(person.role_set_at):
                person_role_set(actor=admin, person=users[person.email], role=ROLE_OF_GROUP[EXECUTIVE])
        if person.left_at is not None:
            with happened_at(person.left_at):
                person_deactivate(actor=admin, person=users[person.email])
    return [users[person.email] for person in plan.people]


# Challenges --------------------------------------------------------------------------------------


def challenge_write(
    plan: ChallengePlan,
    *,
    admin: User,
    people: list[User],
    team_of: dict[int, int],
    locale: str,
    now: dt.datetime,
) -> Challenge:
    """One challenge's whole story: created, published, the participants' pledges and entries, then
    what the lifecycle made of them (success, failure, cancellation, delivery), each at its time."""
    spec, story = plan.spec, plan.story
    # Publishing refuses a passed deadline (or one that passes while this runs): a provisional one,
    # moved back once published.
    provisional = plan.deadline <= now + HOUR
    with happened_at(plan.created_at):
        challenge = challenge_create(
            actor=admin,
            fields={
                "title": spec.title,
                "description": spec.description,
                "action": spec.action,
                "category": spec.category,
                "starts_at": plan.starts_at,
                "deadline": now + DAY if provisional else plan.deadline,
                "goal_kind": spec.goal_kind,
                "goal_target": spec.target,
                "metric": Metric.objects.get(key=spec.metric) if spec.metric else None,
            },
            skill_slots=[SkillSlotInput(skill, count, hours) for skill, count, hours in spec.skill_slots],
            counterpart=CounterpartInput(
                spec.counterpart,
                amount=story.amount,
                currency="EUR" if story.amount is not None else "",
                due_date=plan.due_date,
            ),
            template_key=spec.template_key,
        )
    if plan.published_at is not None:
        with happened_at(plan.published_at):
            challenge_publish(actor=admin, challenge_id=challenge.pk)
    if provisional:
        Challenge.objects.filter(pk=challenge.pk).update(deadline=plan.deadline)
    pledges, entries = _activity_write(challenge, plan, people, team_of)
    totals_recount(challenge)
    if plan.succeeded_at is not None:
        assert plan.crossing is not None  # noqa: S101 - the plan says which action reached the goal
        if spec.goal_kind == GoalKind.PARTICIPANTS:
            crossing = pledges[plan.crossing].pk
            cause = f"Goal reached with pledge #{crossing}, participant number {spec.target:.0f}"
        else:
            cause = f"Goal reached with contribution #{entries[plan.crossing].pk}"
        with happened_at(plan.succeeded_at):
            Challenge.objects.select_for_update(no_key=True).get(pk=challenge.pk)
            if not succeed_if_reached(challenge.pk, cause):
                raise AssertionError(f"The demo challenge {spec.title!r} should have reached its goal")
        Challenge.objects.filter(pk=challenge.pk).update(succeeded_at=plan.succeeded_at)
        notifications_sent(challenge, "goal_reached", plan.succeeded_at, locale)
    if plan.cancelled_at is not None:
        with happened_at(plan.cancelled_at):
            challenge_cancel(actor=admin, challenge_id=challenge.pk, cause=story.cause)
    if plan.failed_at is not None:
        with happened_at(plan.failed_at):
            if not challenge_close_if_expired(challenge_id=challenge.pk):
                raise AssertionError(f"The demo challenge {spec.title!r} should have failed")
    if plan.delivered_at is not None:
        with happened_at(plan.delivered_at):
            counterpart_deliver(
                actor=admin, challenge_id=challenge.pk, proof_text=story.proof, proof_url=story.proof_url
            )
        Counterpart.objects.filter(challenge=challenge).update(delivered_at=plan.delivered_at)
        notifications_sent(challenge, "counterpart_delivered", plan.delivered_at, locale)
    moments = [plan.created_at, plan.published_at, plan.succeeded_at, plan.cancelled_at, plan.failed_at]
    moments += [pledge.at for pledge in plan.pledges[-1:]] + [entry.at for entry in plan.entries[-1:]]
    Challenge.objects.filter(pk=challenge.pk).update(updated_at=max(m for m in moments if m is not None))
    challenge.refresh_from_db()
    return challenge


def _activity_write(
    challenge: Challenge, plan: ChallengePlan, people: list[User], team_of: dict[int, int]
) -> tuple[list[Pledge], list[Contribution]]:
    """The participants' pledges and entries, in bulk, at their times. A contribution's team is its
    person's team, as the service sets it."""
    slots = list(challenge.skill_slots.order_by("pk").values_list("pk", flat=True))

    def slot_id(index: int | None) -> int | None:
        return slots[index] if index is not None else None

    pledges = Pledge.objects.bulk_create(
        [
            Pledge(
                challenge=challenge,
                user=people[row.person],
                team_id=team_of.get(people[row.person].pk),
                skill_slot_id=slot_id(row.slot),
                withdrawn_at=row.withdrawn_at,
                confirmed_at=row.confirmed_at,
            )
            for row in plan.pledges
        ],
        batch_size=2000,
    )
    stamps_set(Pledge, "created_at", [(p.pk, row.at) for p, row in zip(pledges, plan.pledges, strict=True)])
    entries = Contribution.objects.bulk_create(
        [
            Contribution(
                challenge=challenge,
                user=people[row.person],
                team_id=team_of.get(people[row.person].pk),
                skill_slot_id=slot_id(row.slot),
                day=row.day,
                amount=row.amount,
                note=row.note,
            )
            for row in plan.entries
        ],
        batch_size=2000,
    )
    stamps_set(
        Contribution, "created_at", [(c.pk, row.at) for c, row in zip(entries, plan.entries, strict=True)]
    )
    return pledges, entries
