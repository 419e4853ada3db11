import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from accounts.roles import PARTICIPANT, roles_sync
from challenges.models import Challenge, Counterpart, Team


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    display_name = factory.Faker("name")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:  # noqa: N805
        if create:
            obj.groups.add(roles_sync()[extracted or PARTICIPANT])


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


def _now() -> dt.datetime:
    return timezone.now()


class ChallengeFactory(factory.django.DjangoModelFactory[Challenge]):
    """An open participants challenge that started yesterday and ends in 30 days."""

    class Meta:
        model = Challenge

    title = factory.Sequence(lambda n: f"Challenge {n}")
    category = Challenge.Category.ENVIRONMENT
    goal_kind = Challenge.GoalKind.PARTICIPANTS
    goal_target = Decimal(10)
    status = Challenge.Status.OPEN
    starts_at = factory.LazyFunction(lambda: _now() - dt.timedelta(days=1))
    deadline = factory.LazyFunction(lambda: _now() + dt.timedelta(days=30))


class CounterpartFactory(factory.django.DjangoModelFactory[Counterpart]):
    class Meta:
        model = Counterpart

    challenge = factory.SubFactory(ChallengeFactory)
    description = "15 % organic food in the canteen"


def coming_year_of(month: int, day: int) -> int:
    """The year of the next `month`/`day` after today: a date within the coming year, when a test
    needs one in summer or winter time (challenges start at most a year ahead)."""
    today = timezone.localdate()
    return today.year if (month, day) > (today.month, today.day) else today.year + 1
