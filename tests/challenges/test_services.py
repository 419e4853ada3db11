import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Notification
from accounts.roles import EXECUTIVE
from challenges import states
from challenges.library import CHALLENGE_TEMPLATES, DEFAULT_METRICS
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    Metric,
    Pledge,
)
from challenges.services import (
    CounterpartInput,
    SkillSlotInput,
    challenge_cancel,
    challenge_close_if_expired,
    challenge_create,
    challenge_publish,
    challenge_update,
    contribution_create,
    counterpart_deliver,
    pledge_confirm,
    pledge_create,
    pledge_withdraw,
    team_join,
)
from core.transitions import TransitionRefused
from tests.factories import ChallengeFactory, CounterpartFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.usefixtures("in_org_a")


def _fields(**overrides):
    now = timezone.now()
    fields = {
        "title": "One organic product a week",
        "category": Challenge.Category.CONSUMPTION,
        "starts_at": now - dt.timedelta(hours=1),
        "deadline": now + dt.timedelta(days=30),
        "goal_kind": Challenge.GoalKind.PARTICIPANTS,
        "goal_target": Decimal(3),
    }
    return {**fields, **overrides}


@pytest.fixture
def quantity_challenge():
    return ChallengeFactory.create(
        goal_kind=Challenge.GoalKind.QUANTITY,
        goal_target=Decimal(100),
        metric=Metric.objects.get(key="km-cycled"),
    )


# Creation, editing and the lifecycle ---------------------------------------------------------------


def test_an_admin_creates_a_draft_with_its_counterpart_and_the_event_is_recorded(admin):
    challenge = challenge_create(
        actor=admin,
        fields=_fields(),
        counterpart=CounterpartInput("15 % organic in canteens", Decimal(5000), "eur"),
    )

    assert challenge.status == Challenge.Status.DRAFT
    assert challenge.counterpart.status == Counterpart.Status.PROMISED
    assert challenge.counterpart.currency == "EUR"
    event = ChallengeEvent.objects.get(challenge=challenge)
    assert (event.to_status, event.actor, event.cause) == ("draft", admin, "Created")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"goal_target": None}, "goal_target"),
        ({"goal_target": Decimal("2.5")}, "goal_target"),
        ({"goal_kind": "quantity", "metric": None}, "metric"),
        ({"deadline": timezone.now() - dt.timedelta(days=3)}, "deadline"),
        ({"title": ""}, "title"),
        ({"category": "gardening"}, "category"),
    ],
)
def test_a_bad_challenge_is_refused_field_by_field_and_nothing_is_written(admin, overrides, field):
    with pytest.raises(ValidationError) as caught:
        challenge_create(actor=admin, fields=_fields(**overrides))

    assert field in caught.value.message_dict
    assert Challenge.objects.count() == 0
    assert ChallengeEvent.objects.count() == 0


def test_a_skills_goal_needs_distinct_named_slots(admin):
    with pytest.raises(ValidationError) as caught:
        challenge_create(
            actor=admin,
            fields=_fields(goal_kind="skills", goal_target=None),
            skill_slots=[SkillSlotInput("Design", 1), SkillSlotInput("design", 2)],
        )

    assert "skill_slots" in caught.value.message_dict
    assert Challenge.objects.count() == 0


def test_only_an_admin_creates_or_publishes(admin):
    executive = UserFactory.create(role=EXECUTIVE)
    participant = UserFactory.create()
    draft = challenge_create(actor=admin, fields=_fields())

    for person in (executive, participant):
        with pytest.raises(PermissionDenied):
            challenge_create(actor=person, fields=_fields())
        with pytest.raises(PermissionDenied):
            challenge_publish(actor=person, challenge_id=draft.pk)

    draft.refresh_from_db()
    assert draft.status == Challenge.Status.DRAFT
    assert Challenge.objects.count() == 1


def test_a_draft_can_be_edited_and_a_published_challenge_cannot(admin):
    draft = challenge_create(actor=admin, fields=_fields())
    challenge_update(actor=admin, challenge_id=draft.pk, fields={"title": "Two organic products a week"})
    challenge_publish(actor=admin, challenge_id=draft.pk)

    with pytest.raises(TransitionRefused, match="Only a draft can be edited"):
        challenge_update(actor=admin, challenge_id=draft.pk, fields={"goal_target": Decimal(1)})

    draft.refresh_from_db()
    assert draft.title == "Two organic products a week"
    assert draft.goal_target == 3
    assert list(draft.events.values_list("to_status", flat=True)) == ["draft", "open"]


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_invalid_transitions_are_refused_with_a_message(admin, status):
    challenge = ChallengeFactory.create(status=status)

    with pytest.raises(TransitionRefused, match=f"Cannot publish a challenge that is {status}"):
        challenge_publish(actor=admin, challenge_id=challenge.pk)
    with pytest.raises(TransitionRefused, match=f"Cannot cancel a challenge that is {status}"):
        challenge_cancel(actor=admin, challenge_id=challenge.pk, cause="Changed our minds")

    challenge.refresh_from_db()
    assert challenge.status == status
    assert not challenge.events.exists()


def test_cancelling_voids_the_counterpart_and_records_the_cause(admin):
    counterpart = CounterpartFactory.create()

    challenge_cancel(actor=admin, challenge_id=counterpart.challenge_id, cause="The canteen contract ended")

    counterpart.refresh_from_db()
    assert counterpart.status == Counterpart.Status.VOID
    causes = list(ChallengeEvent.objects.values_list("subject", "to_status", "cause", "actor"))
    assert causes == [
        ("challenge", "cancelled", "The canteen contract ended", admin.pk),
        ("counterpart", "void", "The challenge was cancelled", None),
    ]


def test_every_lifecycle_transition_is_declared_with_a_description():
    for table in (states.CHALLENGE_TRANSITIONS, states.COUNTERPART_TRANSITIONS):
        for transition in table.values():
            assert transition.sources
            assert transition.target
            assert transition.description


# Pledges and success --------------------------------------------------------------------------------


def test_success_happens_the_moment_the_goal_is_reached_and_is_final(
    django_capture_on_commit_callbacks, admin
):
    counterpart = CounterpartFactory.create(challenge__goal_target=Decimal(2))
    challenge = counterpart.challenge
    first, second, late = UserFactory.create(), UserFactory.create(), UserFactory.create()

    pledge_create(actor=first, challenge_id=challenge.pk)
    challenge.refresh_from_db()
    assert challenge.status == Challenge.Status.OPEN
    with django_capture_on_commit_callbacks(execute=True):
        pledge_create(actor=second, challenge_id=challenge.pk)

    challenge.refresh_from_db()
    counterpart.refresh_from_db()
    assert challenge.status == Challenge.Status.SUCCEEDED
    assert challenge.succeeded_at is not None
    assert counterpart.status == Counterpart.Status.DUE
    # Told once: both pledgers and the admins.
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [first.email, second.email, admin.email, "admin@alpha.test"]
    )
    assert mail.outbox[0].subject == f"Goal reached: {challenge.title}"
    # Final: no withdrawal, no failure at the deadline, but late joiners are welcome.
    with pytest.raises(TransitionRefused, match="can no longer be withdrawn"):
        pledge_withdraw(actor=first, challenge_id=challenge.pk)
    assert (
        challenge_close_if_expired(challenge_id=challenge.pk, now=challenge.deadline + dt.timedelta(days=1))
        is False
    )
    pledge_create(actor=late, challenge_id=challenge.pk)
    challenge.refresh_from_db()
    assert (challenge.status, challenge.pledge_count) == ("succeeded", 3)


def test_one_pledge_per_person_and_a_withdrawal_frees_the_place():
    challenge = ChallengeFactory.create()
    person = UserFactory.create()
    pledge_create(actor=person, challenge_id=challenge.pk)

    with pytest.raises(TransitionRefused, match="already pledged"):
        pledge_create(actor=person, challenge_id=challenge.pk)
    pledge_withdraw(actor=person, challenge_id=challenge.pk)
    challenge.refresh_from_db()
    assert challenge.pledge_count == 0
    pledge_create(actor=person, challenge_id=challenge.pk)

    challenge.refresh_from_db()
    assert challenge.pledge_count == 1
    assert Pledge.objects.filter(challenge=challenge, user=person).count() == 2
    assert Pledge.objects.filter(challenge=challenge, user=person, withdrawn_at__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "draft"}, "is draft"),
        ({"starts_at": timezone.now() + dt.timedelta(days=1)}, "has not started"),
        (
            {
                "deadline": timezone.now() - dt.timedelta(minutes=1),
                "starts_at": timezone.now() - dt.timedelta(days=9),
            },
            "deadline of this challenge has passed",
        ),
    ],
)
def test_pledges_outside_an_open_window_are_refused(changes, message):
    challenge = ChallengeFactory.create(**changes)

    with pytest.raises(TransitionRefused, match=message):
        pledge_create(actor=UserFactory.create(), challenge_id=challenge.pk)

    assert not Pledge.objects.exists()


def test_confirming_comes_after_success():
    challenge = ChallengeFactory.create(goal_target=Decimal(1))
    person = UserFactory.create()
    other = ChallengeFactory.create()
    pledge_create(actor=person, challenge_id=other.pk)
    with pytest.raises(TransitionRefused, match="once the challenge has succeeded"):
        pledge_confirm(actor=person, challenge_id=other.pk)

    pledge_create(actor=person, challenge_id=challenge.pk)
    pledge = pledge_confirm(actor=person, challenge_id=challenge.pk)

    assert pledge.confirmed_at is not None


def test_a_skills_goal_succeeds_when_every_slot_is_filled(admin):
    challenge = challenge_create(
        actor=admin,
        fields=_fields(goal_kind="skills", goal_target=None, category="well_being"),
        skill_slots=[SkillSlotInput("Design", 2), SkillSlotInput("Accounting", 1, Decimal(10))],
    )
    challenge_publish(actor=admin, challenge_id=challenge.pk)
    design, accounting = challenge.skill_slots.order_by("pk")
    people = [UserFactory.create() for _ in range(4)]

    pledge_create(actor=people[0], challenge_id=challenge.pk, skill_slot_id=design.pk)
    pledge_create(actor=people[1], challenge_id=challenge.pk, skill_slot_id=design.pk)
    with pytest.raises(TransitionRefused, match="already filled"):
        pledge_create(actor=people[2], challenge_id=challenge.pk, skill_slot_id=design.pk)
    pledge_create(actor=people[3], challenge_id=challenge.pk, skill_slot_id=accounting.pk)
    challenge.refresh_from_db()
    assert challenge.status == "open", "the accounting slot still needs its 10 hours"
    contribution_create(
        actor=people[3],
        challenge_id=challenge.pk,
        day=timezone.localdate(),
        amount=Decimal(6),
        skill_slot_id=accounting.pk,
    )
    contribution_create(
        actor=people[3],
        challenge_id=challenge.pk,
        day=timezone.localdate(),
        amount=Decimal(4),
        skill_slot_id=accounting.pk,
    )

    challenge.refresh_from_db()
    assert challenge.status == Challenge.Status.SUCCEEDED


# Contributions --------------------------------------------------------------------------------------


def test_a_contribution_counts_towards_the_total_and_makes_a_participant(quantity_challenge):
    person = UserFactory.create()
    team = TeamFactory.create()
    team_join(actor=person, team=team)

    contribution = contribution_create(
        actor=person,
        challenge_id=quantity_challenge.pk,
        day=timezone.localdate(),
        amount=Decimal("12.5"),
        note="Commute",
    )

    quantity_challenge.refresh_from_db()
    assert quantity_challenge.quantity_total == Decimal("12.5")
    assert quantity_challenge.pledge_count == 1
    assert contribution.team == team


@pytest.mark.parametrize(
    ("day_offset", "amount", "field", "message"),
    [
        (0, Decimal(0), "amount", "positive"),
        (0, Decimal(-5), "amount", "positive"),
        (1, Decimal(5), "day", "in the future"),
        (-5, Decimal(5), "day", "Pick a day between"),
        (0, Decimal(151), "amount", "At most 150 a day"),
    ],
)
def test_a_bad_contribution_is_refused_and_changes_nothing(
    quantity_challenge, day_offset, amount, field, message
):
    person = UserFactory.create()

    with pytest.raises(ValidationError) as caught:
        contribution_create(
            actor=person,
            challenge_id=quantity_challenge.pk,
            day=timezone.localdate() + dt.timedelta(days=day_offset),
            amount=amount,
        )

    assert message in " ".join(caught.value.message_dict[field])
    quantity_challenge.refresh_from_db()
    assert quantity_challenge.quantity_total == 0
    assert not Contribution.objects.exists()
    assert not Pledge.objects.exists()


def test_the_daily_cap_counts_what_was_already_logged_that_day(quantity_challenge):
    person = UserFactory.create()
    today = timezone.localdate()
    contribution_create(actor=person, challenge_id=quantity_challenge.pk, day=today, amount=Decimal(100))

    with pytest.raises(ValidationError, match="100 already logged"):
        contribution_create(actor=person, challenge_id=quantity_challenge.pk, day=today, amount=Decimal(51))
    contribution_create(actor=person, challenge_id=quantity_challenge.pk, day=today, amount=Decimal(50))

    quantity_challenge.refresh_from_db()
    assert quantity_challenge.quantity_total == 150


def test_a_participants_challenge_takes_no_quantities():
    challenge = ChallengeFactory.create()

    with pytest.raises(TransitionRefused, match="counts pledges"):
        contribution_create(
            actor=UserFactory.create(), challenge_id=challenge.pk, day=timezone.localdate(), amount=Decimal(1)
        )


# Deadlines and counterparts -------------------------------------------------------------------------


def test_a_challenge_short_of_its_goal_fails_at_the_deadline_once():
    counterpart = CounterpartFactory.create()
    challenge = counterpart.challenge
    after = challenge.deadline + dt.timedelta(minutes=1)

    assert (
        challenge_close_if_expired(
            challenge_id=challenge.pk, now=challenge.deadline - dt.timedelta(minutes=1)
        )
        is False
    )
    assert challenge_close_if_expired(challenge_id=challenge.pk, now=after) is True
    assert challenge_close_if_expired(challenge_id=challenge.pk, now=after) is False

    challenge.refresh_from_db()
    counterpart.refresh_from_db()
    assert challenge.status == Challenge.Status.FAILED
    assert counterpart.status == Counterpart.Status.VOID
    assert challenge.events.filter(to_status="failed").count() == 1


def test_delivering_the_counterpart_needs_proof_and_tells_participants(
    admin, django_capture_on_commit_callbacks
):
    counterpart = CounterpartFactory.create(challenge__goal_target=Decimal(1))
    person = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        pledge_create(actor=person, challenge_id=counterpart.challenge_id)
    mail.outbox = []

    with pytest.raises(ValidationError, match="proof"):
        counterpart_deliver(actor=admin, challenge_id=counterpart.challenge_id)
    with pytest.raises(PermissionDenied):
        counterpart_deliver(actor=person, challenge_id=counterpart.challenge_id, proof_text="Done")
    with django_capture_on_commit_callbacks(execute=True):
        counterpart_deliver(
            actor=admin,
            challenge_id=counterpart.challenge_id,
            proof_url="https://intranet.example/canteen-menu",
        )

    counterpart.refresh_from_db()
    assert counterpart.status == Counterpart.Status.DELIVERED
    assert counterpart.proof_url == "https://intranet.example/canteen-menu"
    assert person.email in [m.to[0] for m in mail.outbox]
    with pytest.raises(TransitionRefused, match="Cannot deliver a counterpart that is delivered"):
        counterpart_deliver(actor=admin, challenge_id=counterpart.challenge_id, proof_text="Again")


def test_a_notification_goes_at_most_once_per_person_per_event(admin):
    from challenges.tasks import notify_challenge_event

    challenge = ChallengeFactory.create()
    pledge_create(actor=UserFactory.create(), challenge_id=challenge.pk)

    first = notify_challenge_event(challenge.pk, "deadline_at_risk")
    second = notify_challenge_event(challenge.pk, "deadline_at_risk")

    assert first == 3  # the pledger, this test's admin and the organisation's first admin
    assert second == 0
    assert Notification.objects.filter(event=f"challenge:{challenge.pk}:deadline_at_risk").count() == 3
    assert len(mail.outbox) == 3


# Library --------------------------------------------------------------------------------------------


def test_every_organisation_starts_with_the_sourced_metric_library():
    km = Metric.objects.select_related("baseline_factor", "action_factor").get(key="km-cycled")
    meal = Metric.objects.select_related("baseline_factor", "action_factor").get(key="vegetarian-meals")
    litter = Metric.objects.get(key="kg-litter")

    assert Metric.objects.filter(is_builtin=True).count() == len(DEFAULT_METRICS)
    assert km.kg_co2e_avoided_per_unit == Decimal("0.2176")
    assert meal.kg_co2e_avoided_per_unit == Decimal("6.75")
    assert km.baseline_factor is not None
    assert km.baseline_factor.source.startswith("ADEME")
    assert km.baseline_factor.year == 2025
    assert litter.kg_co2e_avoided_per_unit is None, "no sourced factor: none invented"


def test_there_is_a_template_per_category_in_both_languages():
    categories = {template.category for template in CHALLENGE_TEMPLATES}

    assert categories == set(Challenge.Category.values)
    for template in CHALLENGE_TEMPLATES:
        for field in ("title", "description", "action", "counterpart"):
            assert template.text(field, "fr")
            assert template.text(field, "en")
            assert template.text(field, "fr") != template.text(field, "en")
        if template.metric:
            assert Metric.objects.filter(key=template.metric).exists()


def test_skill_slots_and_counterpart_are_checked_before_anything_is_written(admin):
    with pytest.raises(ValidationError) as caught:
        challenge_create(
            actor=admin,
            fields=_fields(goal_kind="skills", goal_target=None),
            skill_slots=[SkillSlotInput("x" * 121, 1)],
            counterpart=CounterpartInput("A garden", Decimal(-5), ""),
        )

    errors = caught.value.message_dict
    assert "skill_slots" in errors
    assert errors["counterpart.amount"] == ["Ensure this value is greater than or equal to 0."]
    assert errors["counterpart.currency"] == ["Give the currency of the amount (EUR, USD…)."]
    assert Challenge.objects.count() == 0


def test_a_draft_can_withdraw_its_counterpart(admin):
    draft = challenge_create(actor=admin, fields=_fields(), counterpart=CounterpartInput("Bike shelters"))

    challenge_update(actor=admin, challenge_id=draft.pk, fields={}, remove_counterpart=True)

    assert not Counterpart.objects.filter(challenge=draft).exists()


def test_permission_is_checked_before_the_state():
    succeeded = ChallengeFactory.create(status="succeeded")
    participant = UserFactory.create()

    with pytest.raises(PermissionDenied):
        challenge_publish(actor=participant, challenge_id=succeeded.pk)
    with pytest.raises(PermissionDenied):
        challenge_cancel(actor=participant, challenge_id=succeeded.pk, cause="No")


def test_editing_an_unknown_challenge_is_a_validation_error(admin):
    with pytest.raises(ValidationError) as caught:
        challenge_update(actor=admin, challenge_id=987654, fields={"title": "Ghost"})

    assert caught.value.message_dict == {"challenge": ["This challenge does not exist."]}
