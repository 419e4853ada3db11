"""Reads on pledges."""

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import User
from challenges.models import Challenge, Pledge


def pledge_list(*, user_id: int | None = None, challenge_id: int | None = None) -> QuerySet[Pledge]:
    """Pledges, newest first; of one person and/or one challenge when given."""
    queryset = Pledge.objects.select_related("challenge", "user", "team").order_by("-created_at", "-pk")
    if user_id is not None:
        queryset = queryset.filter(user_id=user_id)
    if challenge_id is not None:
        queryset = queryset.filter(challenge_id=challenge_id)
    return queryset


def user_active_pledges(user_id: int) -> QuerySet[Pledge]:
    return Pledge.objects.filter(user_id=user_id, withdrawn_at__isnull=True)


def active_pledges_by_challenge(user: User, challenge_ids: Iterable[int]) -> dict[int, Pledge]:
    pledges = Pledge.objects.filter(
        user=user, withdrawn_at__isnull=True, challenge_id__in=list(challenge_ids)
    ).select_related("skill_slot")
    return {pledge.challenge_id: pledge for pledge in pledges}


def active_pledge(user: User, challenge: Challenge) -> Pledge | None:
    return active_pledges_by_challenge(user, [challenge.pk]).get(challenge.pk)
