"""Output shapes the API views share. Each view keeps its own Input serializer (challenges/api.py).

Every serializer names its schema component (Meta.ref_name), so the OpenAPI document has one stable
name per shape for generated clients.
"""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import PersonOutput
from challenges.models import (
    Challenge,
    ChallengeEvent,
    Contribution,
    Counterpart,
    ImpactFactor,
    Metric,
    Pledge,
    SkillSlot,
    Team,
)
from challenges.selectors import challenge_forecast, challenge_progress, challenge_team_standings
from core.serializers import OptionalUrlField


def _quantity(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


class TeamRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()

    class Meta:
        ref_name = "TeamRef"


class ChallengeRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()

    class Meta:
        ref_name = "ChallengeRef"


class TeamOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Team.Kind.choices)
    captain = PersonOutput(allow_null=True)
    member_count = serializers.IntegerField(help_text="People in the team now.")
    headcount = serializers.IntegerField(
        allow_null=True, help_text="People in the department, site or neighbourhood, joined or not."
    )
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Team"


class ImpactFactorOutput(serializers.ModelSerializer[ImpactFactor]):
    source_url = OptionalUrlField()

    class Meta:
        model = ImpactFactor
        ref_name = "ImpactFactor"
        fields = ["key", "label_en", "label_fr", "unit", "kg_co2e_per_unit", "source", "source_url", "year"]
        read_only_fields = fields


class MetricOutput(serializers.ModelSerializer[Metric]):
    baseline_factor = ImpactFactorOutput(allow_null=True, read_only=True)
    action_factor = ImpactFactorOutput(allow_null=True, read_only=True)
    kg_co2e_avoided_per_unit = serializers.DecimalField(
        max_digits=14,
        decimal_places=6,
        allow_null=True,
        read_only=True,
        help_text="Baseline factor − action factor; null when no sourced factor exists.",
    )

    class Meta:
        model = Metric
        ref_name = "Metric"
        fields = [
            "id", "key", "name_en", "name_fr", "unit_en", "unit_fr", "daily_cap", "is_builtin",
            "is_estimate", "kg_co2e_avoided_per_unit", "baseline_factor", "action_factor",
        ]  # fmt: skip
        read_only_fields = fields


class ProgressOutput(serializers.Serializer):
    current = _quantity()
    target = _quantity()
    percent = serializers.IntegerField(min_value=0, max_value=100)
    reached = serializers.BooleanField()

    class Meta:
        ref_name = "Progress"


class ForecastOutput(serializers.Serializer):
    projected = _quantity(help_text="Total expected at the deadline.")
    on_track = serializers.BooleanField()
    needed_per_day = _quantity(allow_null=True, help_text="When at risk: how much more per remaining day.")

    class Meta:
        ref_name = "Forecast"


class TeamStandingOutput(serializers.Serializer):
    team_id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    members = serializers.IntegerField()
    participants = serializers.IntegerField()
    quantity = _quantity()
    per_head = _quantity()

    class Meta:
        ref_name = "TeamStanding"


class SkillSlotOutput(serializers.ModelSerializer[SkillSlot]):
    is_filled = serializers.BooleanField(read_only=True)

    class Meta:
        model = SkillSlot
        ref_name = "SkillSlot"
        fields = ["id", "skill", "count", "hours", "filled_count", "filled_hours", "is_filled"]
        read_only_fields = fields


class CounterpartOutput(serializers.ModelSerializer[Counterpart]):
    proof_url = OptionalUrlField()

    class Meta:
        model = Counterpart
        ref_name = "Counterpart"
        fields = [
            "description", "amount", "currency", "due_date", "status", "proof_text", "proof_url",
            "delivered_at",
        ]  # fmt: skip
        read_only_fields = fields


class ChallengeOutput(serializers.ModelSerializer[Challenge]):
    """A challenge as listed: its terms, its status and its progress."""

    progress = serializers.SerializerMethodField()

    class Meta:
        model = Challenge
        ref_name = "Challenge"
        fields = [
            "id", "title", "action", "category", "status", "goal_kind", "goal_target", "metric",
            "starts_at", "deadline", "pledge_count", "succeeded_at", "progress",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ProgressOutput)
    def get_progress(self, challenge: Challenge) -> dict[str, Any]:
        # skill_slots come prefetched by challenge_list: no query per row.
        return dict(ProgressOutput(challenge_progress(challenge)).data)


class ChallengeDetailOutput(ChallengeOutput):
    """A challenge with everything its page shows."""

    metric = MetricOutput(allow_null=True, read_only=True)
    skill_slots = SkillSlotOutput(many=True, read_only=True)
    counterpart = serializers.SerializerMethodField()
    forecast = serializers.SerializerMethodField()
    team_standings = serializers.SerializerMethodField()

    class Meta(ChallengeOutput.Meta):
        ref_name = "ChallengeDetail"
        fields = [
            *ChallengeOutput.Meta.fields, "description", "template_key", "created_at", "updated_at",
            "skill_slots", "counterpart", "forecast", "team_standings",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(CounterpartOutput(allow_null=True))
    def get_counterpart(self, challenge: Challenge) -> dict[str, Any] | None:
        counterpart = getattr(challenge, "counterpart", None)  # select_related: None when missing
        return dict(CounterpartOutput(counterpart).data) if counterpart is not None else None

    @extend_schema_field(ForecastOutput(allow_null=True))
    def get_forecast(self, challenge: Challenge) -> dict[str, Any] | None:
        forecast = challenge_forecast(challenge)
        return dict(ForecastOutput(forecast).data) if forecast is not None else None

    @extend_schema_field(TeamStandingOutput(many=True))
    def get_team_standings(self, challenge: Challenge) -> list[dict[str, Any]]:
        return [dict(row) for row in TeamStandingOutput(challenge_team_standings(challenge), many=True).data]


class PledgeOutput(serializers.ModelSerializer[Pledge]):
    challenge = ChallengeRefOutput(read_only=True)
    person = PersonOutput(source="user", allow_null=True, read_only=True)
    team = TeamRefOutput(allow_null=True, read_only=True)

    class Meta:
        model = Pledge
        ref_name = "Pledge"
        fields = [
            "id", "challenge", "person", "team", "skill_slot", "created_at", "withdrawn_at", "confirmed_at",
        ]  # fmt: skip
        read_only_fields = fields


class ContributionOutput(serializers.ModelSerializer[Contribution]):
    challenge = ChallengeRefOutput(read_only=True)
    person = PersonOutput(source="user", allow_null=True, read_only=True)
    team = TeamRefOutput(allow_null=True, read_only=True)

    class Meta:
        model = Contribution
        ref_name = "Contribution"
        fields = ["id", "challenge", "person", "team", "skill_slot", "day", "amount", "note", "created_at"]
        read_only_fields = fields


class ChallengeEventOutput(serializers.ModelSerializer[ChallengeEvent]):
    actor = PersonOutput(allow_null=True, read_only=True)

    class Meta:
        model = ChallengeEvent
        ref_name = "ChallengeEvent"
        fields = ["id", "subject", "from_status", "to_status", "actor", "cause", "at"]
        read_only_fields = fields
