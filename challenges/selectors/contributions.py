"""Reads on contributions."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from accounts.models import User
from challenges.models import Challenge, Contribution


def contribution_list(
    *, user_id: int | None = None, challenge_id: int | None = None
) -> QuerySet[Contribution]:
    """Contributions, latest day first; of one person and/or one challenge when given."""
    queryset = Contribution.objects.select_related("challenge", "user", "team").order_by("-day", "-pk")
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    if challenge_id is not None:
        queryset = queryset.filter(challenge_id=challenge_id)
    return queryset


@dataclass(frozen=True)
class PersonContributions:
    recent: list[Contribution]
    total: Decimal
    count: int


def person_contributions(user: User, challenge: Challenge, *, recent: int = 10) -> PersonContributions:
    """A person's total on a challenge and their latest entries."""
    rows = Contribution.objects.filter(user=user, challenge=challenge)
    totals = rows.aggregate(total=Sum("amount"), count=Count("pk"))
    return PersonContributions(
        recent=list(rows.select_related("skill_slot").order_by("-day", "-pk")[:recent]),
        total=totals["total"] or Decimal(0),
        count=totals["count"],
    )
