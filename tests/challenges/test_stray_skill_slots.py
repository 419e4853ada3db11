"""Skill slots belong to skills goals. Slots the API once stored on other goals are removed by a
migration, and the pages, the API and the impact report answer even for the ones it had to keep."""

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from accounts.roles import ORG_ADMIN, PARTICIPANT
from challenges.models import Challenge, Contribution, Metric, Pledge, SkillSlot
from tests.api import V1, api_client
from tests.factories import ChallengeFactory, UserFactory

pytestmark = pytest.mark.django_db


def _challenge(goal_kind: str) -> Challenge:
    if goal_kind == Challenge.GoalKind.QUANTITY:
        return ChallengeFactory.create(goal_kind=goal_kind, metric=Metric.objects.get(key="km-cycled"))
    return ChallengeFactory.create(goal_kind=goal_kind)


def test_the_migration_removes_the_slots_of_other_goals_and_keeps_the_rest(in_org_a):
    # Given slots stored on a participants goal, on a quantity goal and on a skills goal
    participants = _challenge(Challenge.GoalKind.PARTICIPANTS)
    quantity = _challenge(Challenge.GoalKind.QUANTITY)
    skills = ChallengeFactory.create(goal_kind=Challenge.GoalKind.SKILLS, goal_target=None)
    SkillSlot.objects.create(challenge=participants, skill="Stray")
    SkillSlot.objects.create(challenge=quantity, skill="Stray too")
    named = SkillSlot.objects.create(challenge=quantity, skill="Named by a pledge")
    Pledge.objects.create(challenge=quantity, user=UserFactory.create(role=PARTICIPANT), skill_slot=named)
    kept = SkillSlot.objects.create(challenge=skills, skill="Carpentry")

    # When the migration runs
    migration = importlib.import_module("challenges.migrations.0006_stray_skill_slots_removed")
    migration.remove(apps, connection.schema_editor())

    # Then only the slots of the skills goal, and the one a pledge names, are left
    assert set(SkillSlot.objects.values_list("pk", flat=True)) == {named.pk, kept.pk}


@pytest.mark.parametrize("named", [False, True], ids=["alone", "named-by-a-pledge"])
@pytest.mark.parametrize("goal_kind", [Challenge.GoalKind.PARTICIPANTS, Challenge.GoalKind.QUANTITY])
def test_a_slot_stored_on_another_goal_takes_no_page_down(in_org_a, client_a, goal_kind, named):
    # Given a challenge of another goal with a slot stored around the services: alone, or named by
    # a pledge and a contribution (the one the migration keeps)
    challenge = _challenge(goal_kind)
    slot = SkillSlot.objects.create(challenge=challenge, skill="Stray", count=2, hours=Decimal(4))
    person = UserFactory.create(role=PARTICIPANT)
    if named:
        Pledge.objects.create(challenge=challenge, user=person, skill_slot=slot)
        Contribution.objects.create(
            challenge=challenge,
            user=person,
            skill_slot=slot,
            day=timezone.localdate() - dt.timedelta(days=1),
            amount=Decimal(3),
        )
    admin = UserFactory.create(role=ORG_ADMIN)

    # When an admin opens what shows it, then each page and the API answer
    client_a.force_login(admin)
    for path in [f"/challenges/{challenge.pk}/", f"/manage/challenges/{challenge.pk}/", "/manage/impact/"]:
        assert client_a.get(path).status_code == 200, path
    client_a.force_login(person)
    assert client_a.get(f"/challenges/{challenge.pk}/").status_code == 200
    answer = api_client(admin).get(f"{V1}/challenges/{challenge.pk}/")
    assert answer.status_code == 200
    assert answer.json()["goal_kind"] == goal_kind
