"""The contributions folded per person, team, challenge, slot and month (challenges.ContributionMonth),
kept by the database's triggers: after any write, whatever made it, the folds equal the contributions
folded anew."""

import datetime as dt
import random
import threading
import zoneinfo
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import tenant_context

from accounts.models import User
from challenges.models import Challenge, Contribution, ContributionMonth, Metric, Pledge, Team
from challenges.selectors.impact import Days, impact_activity
from tenants.db import tenant_connection
from tenants.models import Organization
from tests.factories import ChallengeFactory, TeamFactory, UserFactory

FOLD_ANEW = """
    SELECT challenge_id, user_id, team_id, skill_slot_id, date_trunc('month', day)::date,
           count(*), sum(amount), bit_or(1 << (extract(day FROM day)::int - 1)), min(day)
    FROM challenges_contribution GROUP BY 1, 2, 3, 4, 5
"""


def folded_anew() -> set[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(FOLD_ANEW)
        return {tuple(row) for row in cursor.fetchall()}


def stored() -> set[tuple[object, ...]]:
    return set(
        ContributionMonth.objects.values_list(
            *("challenge_id", "user_id", "team_id", "skill_slot_id", "month"),
            *("entries", "amount", "days", "first_day"),
        )
    )


def quantity_challenge() -> Challenge:
    return ChallengeFactory.create(
        goal_kind=Challenge.GoalKind.QUANTITY,
        metric=Metric.objects.get(key="km-cycled"),
        goal_target=Decimal(100_000),
    )


def log(challenge: Challenge, user: User | None, day: dt.date, amount: str, team: Team | None = None):
    return Contribution.objects.create(
        challenge=challenge, user=user, team=team, day=day, amount=Decimal(amount), note="a ride"
    )


@pytest.mark.django_db
class TestFoldsFollowEveryWrite:
    @pytest.fixture(autouse=True)
    def _in_org(self, in_org_a):
        self.challenge = quantity_challenge()
        self.ada, self.bob = UserFactory.create(), UserFactory.create()
        self.team = TeamFactory.create()

    def test_inserts_one_by_one_and_in_bulk_add_up_per_month(self):
        log(self.challenge, self.ada, dt.date(2025, 3, 1), "4.50", self.team)
        log(self.challenge, self.ada, dt.date(2025, 3, 31), "5.50", self.team)
        log(self.challenge, self.ada, dt.date(2025, 3, 31), "1", self.team)  # twice on one day
        Contribution.objects.bulk_create(
            [
                Contribution(
                    challenge=self.challenge, user=self.bob, day=dt.date(2025, 4, day), amount=Decimal(day)
                )
                for day in range(1, 31)
            ]
            + [Contribution(challenge=self.challenge, user=None, day=dt.date(2025, 2, 28), amount=Decimal(2))]
        )

        months = {(row[1], row[4]): row for row in stored()}
        ada = months[(self.ada.pk, dt.date(2025, 3, 1))]
        assert ada[5:] == (3, Decimal("11.00"), 1 | 1 << 30, dt.date(2025, 3, 1))
        bob = months[(self.bob.pk, dt.date(2025, 4, 1))]
        assert bob[5:] == (30, Decimal(465), (1 << 30) - 1, dt.date(2025, 4, 1))
        assert months[(None, dt.date(2025, 2, 1))][5:] == (1, Decimal(2), 1 << 27, dt.date(2025, 2, 28))
        assert stored() == folded_anew()

    def test_moving_a_contribution_refolds_both_months_and_deleting_empties_them(self):
        first = log(self.challenge, self.ada, dt.date(2025, 3, 10), "3")
        log(self.challenge, self.ada, dt.date(2025, 3, 20), "4")

        Contribution.objects.filter(pk=first.pk).update(day=dt.date(2025, 4, 2), amount=Decimal(7))
        assert stored() == folded_anew()
        march = ContributionMonth.objects.get(user_id=self.ada.pk, month=dt.date(2025, 3, 1))
        assert (march.entries, march.amount, march.days, march.first_day) == (
            1,
            Decimal(4),
            1 << 19,
            dt.date(2025, 3, 20),
        )

        Contribution.objects.filter(pk=first.pk).update(team=self.team)  # another team: another key
        assert stored() == folded_anew()

        Contribution.objects.filter(user=self.ada).delete()
        assert stored() == folded_anew() == set()

    def test_a_rewritten_note_refolds_nothing_and_changes_nothing(self):
        log(self.challenge, self.ada, dt.date(2025, 3, 10), "3")
        before = list(ContributionMonth.objects.values_list("pk", "entries", "amount"))

        Contribution.objects.filter(user=self.ada).update(note="")

        assert list(ContributionMonth.objects.values_list("pk", "entries", "amount")) == before

    def test_deleting_a_person_team_or_challenge_follows_the_contributions(self):
        log(self.challenge, self.ada, dt.date(2025, 3, 10), "3", self.team)
        log(self.challenge, self.bob, dt.date(2025, 3, 11), "5", self.team)
        other = quantity_challenge()
        log(other, self.bob, dt.date(2025, 5, 1), "8")

        self.team.delete()  # the contributions keep no team (SET NULL)
        assert stored() == folded_anew()
        self.ada.delete()  # nor a person
        assert stored() == folded_anew()
        assert ContributionMonth.objects.filter(user_id=None).count() == 1
        self.challenge.delete()  # its contributions go, and their folds
        assert stored() == folded_anew()
        assert set(ContributionMonth.objects.values_list("challenge_id", flat=True)) == {other.pk}

    def test_a_write_rolled_back_leaves_the_folds_as_they_were(self):
        log(self.challenge, self.ada, dt.date(2025, 3, 10), "3")
        before = stored()

        def abandoned() -> None:
            with transaction.atomic():
                log(self.challenge, self.ada, dt.date(2025, 3, 11), "9")
                Contribution.objects.filter(day=dt.date(2025, 3, 10)).delete()
                raise RuntimeError("abandoned")

        with pytest.raises(RuntimeError):
            abandoned()
        assert stored() == before == folded_anew()


@pytest.mark.django_db
def test_a_write_naming_the_schema_folds_into_that_schema_whatever_the_session_reads(org_a, org_b):
    """The triggers fold into the schema of the table written, not into the session's search_path:
    a COPY or a maintenance session naming alpha's table from beta's search_path folds into alpha."""
    with tenant_context(org_a):
        challenge, person = quantity_challenge(), UserFactory.create()
    with tenant_context(org_b):
        with connection.cursor() as cursor:
            cursor.execute(
                'INSERT INTO "alpha".challenges_contribution'
                " (challenge_id, user_id, day, amount, note, created_at)"
                " VALUES (%s, %s, %s, 5, '', now())",
                [challenge.pk, person.pk, dt.date(2025, 3, 3)],
            )
            cursor.execute('UPDATE "alpha".challenges_contribution SET day = %s', [dt.date(2025, 4, 4)])
        assert not ContributionMonth.objects.exists()  # beta's folds: untouched
    with tenant_context(org_a):
        assert stored() == folded_anew()
        assert list(ContributionMonth.objects.values_list("month", "entries")) == [(dt.date(2025, 4, 1), 1)]


WRITERS = 8
ROUNDS = 12


def test_concurrent_writers_of_the_same_months_leave_exact_folds(django_db_setup, django_db_blocker):
    """Eight connections log, move and delete the same person's contributions in the same months at
    once: each refold waits for the month's other writers, so nothing is lost or counted twice."""
    with django_db_blocker.unblock():
        tenant_connection().set_schema_to_public()
        alpha = Organization.objects.get(schema_name="alpha")
        with tenant_context(alpha):
            challenge = quantity_challenge()
            person = UserFactory.create(email="folds@alpha.test")
        start = threading.Barrier(WRITERS)
        failures: list[BaseException] = []

        def write(number: int) -> None:
            try:
                with tenant_context(alpha):
                    start.wait(timeout=60)
                    for step in range(ROUNDS):
                        day = dt.date(2025, 3 + step % 2, 1 + (number + step) % 28)
                        with transaction.atomic():
                            entry = log(challenge, person, day, str(1 + number))
                            if step % 3 == 1:
                                Contribution.objects.filter(pk=entry.pk).update(day=day.replace(day=28))
                            elif step % 3 == 2:
                                Contribution.objects.filter(pk=entry.pk).delete()
            except BaseException as exc:  # collected: the assertion below names them
                failures.append(exc)
            finally:
                connections.close_all()

        try:
            with ThreadPoolExecutor(max_workers=WRITERS) as pool:
                list(pool.map(write, range(WRITERS)))
            assert failures == []
            with tenant_context(alpha):
                assert stored() == folded_anew()
                assert ContributionMonth.objects.filter(user_id=person.pk).count() == 2
        finally:
            with tenant_context(alpha):
                Challenge.objects.filter(pk=challenge.pk).delete()
                User.objects.filter(pk=person.pk).delete()


PERIODS = [  # (the period, the one before, bucket)
    ((dt.date(2025, 1, 1), dt.date(2025, 1, 31)), (dt.date(2024, 12, 1), dt.date(2024, 12, 31)), "week"),
    ((dt.date(2025, 1, 1), dt.date(2025, 3, 31)), (dt.date(2024, 10, 1), dt.date(2024, 12, 31)), "week"),
    ((dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2024, 1, 1), dt.date(2024, 12, 31)), "month"),
    ((dt.date(2025, 1, 15), dt.date(2025, 3, 10)), (dt.date(2024, 11, 20), dt.date(2025, 1, 14)), "week"),
    ((dt.date(2025, 2, 10), dt.date(2025, 2, 16)), (dt.date(2025, 2, 3), dt.date(2025, 2, 9)), "week"),
    ((dt.date(2025, 3, 31), dt.date(2025, 3, 31)), (dt.date(2025, 3, 30), dt.date(2025, 3, 30)), "week"),
    ((dt.date(2024, 12, 16), dt.date(2025, 5, 20)), (dt.date(2024, 7, 11), dt.date(2024, 12, 15)), "month"),
]


def _same(activity):
    return (activity.people, sorted(activity.contributions, key=repr), activity.newcomers)


@pytest.mark.django_db
@pytest.mark.parametrize(("now", "before", "bucket"), PERIODS)
def test_the_figures_read_from_folded_months_equal_those_read_one_by_one(in_org_a, now, before, bucket):
    rng = random.Random(f"{now}{before}")  # noqa: S311 - data, not secrets
    challenges = [quantity_challenge() for _ in range(2)]
    people = [UserFactory.create() for _ in range(6)]
    teams = [TeamFactory.create(), TeamFactory.create(), None]
    Contribution.objects.bulk_create(
        Contribution(
            challenge=rng.choice(challenges),
            user=rng.choice([*people, None]),
            team=rng.choice(teams),
            day=dt.date(2024, 9, 1) + dt.timedelta(days=rng.randrange(300)),
            amount=Decimal(rng.randrange(1, 4000)) / 100,
        )
        for _ in range(400)
    )
    zone = zoneinfo.ZoneInfo(in_org_a.timezone)
    for person in people[:4]:
        pledge = Pledge.objects.create(challenge=challenges[0], user=person, team=rng.choice(teams))
        when = dt.datetime(2024, 10, 1, 23, 30, tzinfo=zone) + dt.timedelta(days=rng.randrange(200))
        Pledge.objects.filter(pk=pledge.pk).update(created_at=when)

    folded = impact_activity(Days(*now), Days(*before), zone, bucket=bucket)
    one_by_one = impact_activity(Days(*now), Days(*before), zone, bucket=bucket, folded=False)

    assert folded.people.people.now > 0
    assert _same(folded) == _same(one_by_one)


@pytest.mark.django_db
def test_whole_months_are_read_from_the_folds_and_cut_months_one_by_one(in_org_a):
    challenge, person = quantity_challenge(), UserFactory.create()
    log(challenge, person, dt.date(2025, 1, 10), "10")
    log(challenge, person, dt.date(2025, 2, 20), "20")
    ContributionMonth.objects.filter(month=dt.date(2025, 1, 1)).update(amount=Decimal(1000))  # tampered
    zone = zoneinfo.ZoneInfo(in_org_a.timezone)

    def amount(now: tuple[dt.date, dt.date], before: tuple[dt.date, dt.date], **kwargs) -> Decimal:
        activity = impact_activity(Days(*now), Days(*before), zone, bucket="week", **kwargs)
        return sum((row.amount.now for row in activity.contributions), Decimal(0))

    january = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    december = (dt.date(2024, 12, 1), dt.date(2024, 12, 31))
    assert amount(january, december) == Decimal(1000)  # the fold, as it is
    assert amount(january, december, folded=False) == Decimal(10)
    # A period that cuts January: its contributions are read one by one.
    cutting = (dt.date(2025, 1, 5), dt.date(2025, 2, 3)), (dt.date(2024, 12, 6), dt.date(2025, 1, 4))
    assert amount(*cutting) == 10
