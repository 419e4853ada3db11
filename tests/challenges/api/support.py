"""What several API test modules share: the challenge statuses and a quantity challenge in km."""

from decimal import Decimal
from typing import Any

from challenges.models import Challenge, Metric
from tests.factories import ChallengeFactory

Status = Challenge.Status


def _quantity_challenge(**fields: Any) -> Challenge:
    metric = Metric.objects.get(key="km-cycled")
    return ChallengeFactory.create(
        goal_kind=Challenge.GoalKind.QUANTITY, goal_target=Decimal(100), metric=metric, **fields
    )
