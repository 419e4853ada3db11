"""Reads behind the plan's limits: open challenges, and who took part in a period.

An active participant of a period is a person who pledged or contributed in it (withdrawn pledges
and erased people's anonymised accounts count: they took part), the same count billing bills
(billing.selectors.active_participants_count). Each read is one query.

    open_challenges_count() -> int
    person_active_since(user_id, start) -> bool
    active_participants_since(start, user_id) -> (count, user_id is one of them)
"""

import datetime as dt

from django.db import connection
from django.db.models import Exists, OuterRef

from accounts.models import User
from challenges.models import Challenge, Contribution, Pledge


def open_challenges_count() -> int:
    return Challenge.objects.filter(status=Challenge.Status.OPEN).count()


def person_active_since(user_id: int, start: dt.datetime) -> bool:
    """Whether the person pledged or contributed since `start`: one query, on the indexes of the
    pledges' and contributions' user."""
    pledged = Pledge.objects.filter(user_id=OuterRef("pk"), created_at__gte=start)
    contributed = Contribution.objects.filter(user_id=OuterRef("pk"), created_at__gte=start)
    return User.objects.filter(Exists(pledged) | Exists(contributed), pk=user_id).exists()


def active_participants_since(start: dt.datetime, user_id: int | None = None) -> tuple[int, bool]:
    """How many people pledged or contributed since `start`, and whether `user_id` is one of them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(bool_or(user_id = %s), false) FROM ("
            " SELECT user_id FROM challenges_pledge WHERE created_at >= %s AND user_id IS NOT NULL"
            " UNION"
            " SELECT user_id FROM challenges_contribution WHERE created_at >= %s AND user_id IS NOT NULL"
            ") AS active",
            [user_id, start, start],
        )
        count, included = cursor.fetchone()
    return int(count), bool(included)
