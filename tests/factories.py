import factory

from accounts.models import User
from accounts.roles import PARTICIPANT, roles_sync
from challenges.models import Team


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
