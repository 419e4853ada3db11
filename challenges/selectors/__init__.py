"""Reads on challenges, by entity. Every list takes a fixed number of queries, whatever its rows."""

from challenges.selectors.challenges import (
    TAKING_PART,
    challenge_events,
    challenge_for_participants,
    challenge_list,
    challenge_list_for,
    challenges_at_risk_near_deadline,
    challenges_open_past_deadline,
    challenges_taking_part,
    challenges_taking_part_ids,
)
from challenges.selectors.contributions import PersonContributions, contribution_list, person_contributions
from challenges.selectors.metrics import goal_unit, impact_factor_list, metric_list, metric_name, metric_unit
from challenges.selectors.pledges import (
    active_pledge,
    active_pledges_by_challenge,
    pledge_list,
    user_active_pledges,
)
from challenges.selectors.progress import (
    Forecast,
    Progress,
    challenge_forecast,
    challenge_progress,
    goal_reached,
)
from challenges.selectors.teams import (
    TeamStanding,
    challenge_team_standings,
    team_list,
    team_list_for_choice,
    team_members,
    team_of,
    team_standings,
    team_summary,
)

__all__ = [
    "TAKING_PART",
    "Forecast",
    "PersonContributions",
    "Progress",
    "TeamStanding",
    "active_pledge",
    "active_pledges_by_challenge",
    "challenge_events",
    "challenge_for_participants",
    "challenge_forecast",
    "challenge_list",
    "challenge_list_for",
    "challenge_progress",
    "challenge_team_standings",
    "challenges_at_risk_near_deadline",
    "challenges_open_past_deadline",
    "challenges_taking_part",
    "challenges_taking_part_ids",
    "contribution_list",
    "goal_reached",
    "goal_unit",
    "impact_factor_list",
    "metric_list",
    "metric_name",
    "metric_unit",
    "person_contributions",
    "pledge_list",
    "team_list",
    "team_list_for_choice",
    "team_members",
    "team_of",
    "team_standings",
    "team_summary",
    "user_active_pledges",
]
