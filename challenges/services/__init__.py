"""Writes on challenges, by entity. Each takes the actor and checks its permission first."""

from challenges.services.challenges import (
    CHALLENGE_FIELDS,
    SKILL_SLOT_MAX_PEOPLE,
    CounterpartInput,
    SkillSlotInput,
    challenge_cancel,
    challenge_close_if_expired,
    challenge_create,
    challenge_publish,
    challenge_update,
)
from challenges.services.contributions import SKILL_HOURS_DAILY_CAP, contribution_create
from challenges.services.counterparts import counterpart_deliver
from challenges.services.metrics import metric_create
from challenges.services.pledges import pledge_confirm, pledge_create, pledge_withdraw
from challenges.services.teams import team_create, team_delete, team_join, team_update

__all__ = [
    "CHALLENGE_FIELDS",
    "SKILL_HOURS_DAILY_CAP",
    "SKILL_SLOT_MAX_PEOPLE",
    "CounterpartInput",
    "SkillSlotInput",
    "challenge_cancel",
    "challenge_close_if_expired",
    "challenge_create",
    "challenge_publish",
    "challenge_update",
    "contribution_create",
    "counterpart_deliver",
    "metric_create",
    "pledge_confirm",
    "pledge_create",
    "pledge_withdraw",
    "team_create",
    "team_delete",
    "team_join",
    "team_update",
]
