"""The challenges API (/api/v1/): thin views over challenges.services (writes) and challenges.selectors
(reads).

Admins write; executives read everything; participants read challenges, teams and metrics and act
for themselves only (pledge, withdraw, confirm, log contributions, read their own pledges and
contributions). Errors: see config/api.py.
"""

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import request_user
from accounts.models import User
from challenges import selectors, services
from challenges.models import Challenge, ImpactFactor, Metric, Team
from challenges.serializers import (
    ChallengeDetailOutput,
    ChallengeEventOutput,
    ChallengeOutput,
    ContributionOutput,
    CounterpartOutput,
    ImpactFactorOutput,
    MetricOutput,
    PledgeOutput,
    TeamOutput,
)
from challenges.services import CounterpartInput, SkillSlotInput
from core.api import (
    AdminWritesOthersRead,
    IsOrganizationAdmin,
    Pagination,
    ReadsEverything,
    error_responses,
    paginated_response,
)
from core.permissions import can_read_all
from core.serializers import id_field
from core.transitions import TransitionRefused


def _valid(serializer_class: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _visible_challenge(request: Request, challenge_id: int) -> Challenge:
    """The challenge with what its progress needs, if this person may see it (drafts: admins and
    executives only); 404 otherwise, as for a challenge of another organisation."""
    queryset = selectors.challenge_list_for(include_drafts=can_read_all(request.user))
    challenge = queryset.filter(pk=challenge_id).first()
    if challenge is None:
        raise NotFound("No such challenge.")
    return challenge


# Teams ------------------------------------------------------------------------------------------


class TeamInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=Team.Kind.choices, default=Team.Kind.DEPARTMENT)
    captain = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), allow_null=True, default=None, help_text="A person's id."
    )
    headcount = serializers.IntegerField(
        min_value=1,
        max_value=10_000_000,
        allow_null=True,
        default=None,
        help_text="People in the team, joined or not: the denominator of its participation rate.",
    )

    class Meta:
        ref_name = "TeamInput"


class TeamListCreateApi(APIView):
    permission_classes = [AdminWritesOthersRead]
    pagination_class = Pagination

    @extend_schema(
        operation_id="team_list",
        tags=["teams"],
        responses={200: TeamOutput(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self, request=request, queryset=selectors.team_list(), serializer_class=TeamOutput
        )

    @extend_schema(
        operation_id="team_create",
        tags=["teams"],
        request=TeamInput,
        responses={201: TeamOutput, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        team = services.team_create(actor=request_user(request), **_valid(TeamInput, request.data))
        team = selectors.team_list().get(pk=team.pk)
        return Response(TeamOutput(team, context={"request": request}).data, status=status.HTTP_201_CREATED)


class TeamDetailApi(APIView):
    permission_classes = [AdminWritesOthersRead]

    @extend_schema(
        operation_id="team_retrieve", tags=["teams"], responses={200: TeamOutput, **error_responses(404)}
    )
    def get(self, request: Request, team_id: int) -> Response:
        team = get_object_or_404(selectors.team_list(), pk=team_id)
        return Response(TeamOutput(team, context={"request": request}).data)

    @extend_schema(
        operation_id="team_update",
        tags=["teams"],
        request=TeamInput(partial=True),
        responses={200: TeamOutput, **error_responses(400, 404)},
    )
    def patch(self, request: Request, team_id: int) -> Response:
        team = get_object_or_404(Team, pk=team_id)
        data = _valid(TeamInput, request.data, partial=True)
        services.team_update(
            actor=request_user(request),
            team=team,
            name=data.get("name", team.name),
            kind=data.get("kind", team.kind),
            captain=data.get("captain", team.captain),
            headcount=data.get("headcount", team.headcount),
        )
        team = selectors.team_list().get(pk=team.pk)
        return Response(TeamOutput(team, context={"request": request}).data)

    @extend_schema(
        operation_id="team_delete",
        tags=["teams"],
        responses={204: OpenApiResponse(description="Deleted."), **error_responses(400, 404)},
    )
    def delete(self, request: Request, team_id: int) -> Response:
        services.team_delete(actor=request_user(request), team=get_object_or_404(Team, pk=team_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


# Metrics ----------------------------------------------------------------------------------------


class MetricInput(serializers.Serializer):
    key = serializers.SlugField(max_length=80, required=False, help_text="Made from name_en when left out.")
    name_en = serializers.CharField(max_length=120)
    name_fr = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    unit_en = serializers.CharField(max_length=40)
    unit_fr = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    daily_cap = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Most per person per day."
    )
    baseline_factor = serializers.SlugRelatedField(
        slug_field="key",
        queryset=ImpactFactor.objects.all(),
        allow_null=True,
        default=None,
        help_text="Key of the impact factor of what the action replaces (e.g. driving).",
    )
    action_factor = serializers.SlugRelatedField(
        slug_field="key",
        queryset=ImpactFactor.objects.all(),
        allow_null=True,
        default=None,
        help_text="Key of the impact factor of the action itself; needs a baseline factor.",
    )

    class Meta:
        ref_name = "MetricInput"


class MetricListCreateApi(APIView):
    permission_classes = [AdminWritesOthersRead]
    pagination_class = Pagination

    @extend_schema(
        operation_id="metric_list",
        tags=["metrics"],
        responses={200: MetricOutput(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self, request=request, queryset=selectors.metric_list(), serializer_class=MetricOutput
        )

    @extend_schema(
        operation_id="metric_create",
        tags=["metrics"],
        request=MetricInput,
        responses={201: MetricOutput, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        metric = services.metric_create(actor=request_user(request), **_valid(MetricInput, request.data))
        metric = selectors.metric_list().get(pk=metric.pk)
        return Response(MetricOutput(metric).data, status=status.HTTP_201_CREATED)


class ImpactFactorListApi(APIView):
    """The sourced factors a metric can be built on."""

    permission_classes = [IsAuthenticated]
    pagination_class = Pagination

    @extend_schema(
        operation_id="impact_factor_list",
        tags=["metrics"],
        responses={200: ImpactFactorOutput(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.impact_factor_list(),
            serializer_class=ImpactFactorOutput,
        )


# Challenges -------------------------------------------------------------------------------------


class SkillSlotInputSerializer(serializers.Serializer):
    skill = serializers.CharField(max_length=120)
    count = serializers.IntegerField(min_value=1, max_value=services.SKILL_SLOT_MAX_PEOPLE, default=1)
    hours = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True, default=None)

    class Meta:
        ref_name = "SkillSlotInput"


class CounterpartInputSerializer(serializers.Serializer):
    description = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, default=None)
    currency = serializers.CharField(max_length=3, allow_blank=True, default="")
    due_date = serializers.DateField(allow_null=True, default=None)

    class Meta:
        ref_name = "CounterpartInput"


class ChallengeInput(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, default="")
    action = serializers.CharField(
        max_length=200, allow_blank=True, default="", help_text="What each participant commits to."
    )
    category = serializers.ChoiceField(choices=Challenge.Category.choices)
    starts_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField()
    goal_kind = serializers.ChoiceField(choices=Challenge.GoalKind.choices)
    goal_target = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        default=None,
        help_text="Participants or quantity goals: the number to reach. Skills goals count their slots.",
    )
    metric = serializers.PrimaryKeyRelatedField(
        queryset=Metric.objects.all(), allow_null=True, default=None, help_text="Quantity goals: a metric id."
    )
    skill_slots = SkillSlotInputSerializer(
        many=True, required=False, help_text="Skills goals. On update, replaces every slot when given."
    )
    counterpart = CounterpartInputSerializer(
        allow_null=True,
        required=False,
        help_text="What the organisation commits to if the goal is reached. On update, replaces it.",
    )

    class Meta:
        ref_name = "ChallengeInput"


class ChallengeNestedInput(serializers.Serializer):
    """A challenge's nested objects, each whole even in a partial update: a PATCH replaces the skill
    slots or the counterpart it names, it never merges half of one into the stored one."""

    skill_slots = SkillSlotInputSerializer(many=True, required=False)
    counterpart = CounterpartInputSerializer(allow_null=True, required=False)

    class Meta:
        ref_name = "ChallengeNestedInput"


class ChallengeFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Challenge.Status.choices, required=False)


def _challenge_write_arguments(data: dict[str, Any]) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "fields": {key: data[key] for key in services.CHALLENGE_FIELDS if key in data}
    }
    if "skill_slots" in data:
        arguments["skill_slots"] = [SkillSlotInput(**slot) for slot in data["skill_slots"]]
    if data.get("counterpart") is not None:
        arguments["counterpart"] = CounterpartInput(**data["counterpart"])
    return arguments


class ChallengeListCreateApi(APIView):
    permission_classes = [AdminWritesOthersRead]
    pagination_class = Pagination

    @extend_schema(
        operation_id="challenge_list",
        tags=["challenges"],
        parameters=[ChallengeFilters],
        responses={200: ChallengeOutput(many=True), **error_responses(400, 404)},
        description="Challenges with their progress, latest start first. Drafts: admins and executives only.",
    )
    def get(self, request: Request) -> Response:
        filters = _valid(ChallengeFilters, request.query_params)
        queryset = selectors.challenge_list_for(
            include_drafts=can_read_all(request.user), status=filters.get("status")
        )
        return paginated_response(
            view=self, request=request, queryset=queryset, serializer_class=ChallengeOutput
        )

    @extend_schema(
        operation_id="challenge_create",
        tags=["challenges"],
        request=ChallengeInput,
        responses={201: ChallengeDetailOutput, **error_responses(400)},
        description="Create a draft challenge, with its skill slots and its counterpart.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(ChallengeInput, request.data)
        challenge = services.challenge_create(actor=request_user(request), **_challenge_write_arguments(data))
        challenge = _visible_challenge(request, challenge.pk)
        return Response(
            ChallengeDetailOutput(challenge, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class ChallengeDetailApi(APIView):
    permission_classes = [AdminWritesOthersRead]

    @extend_schema(
        operation_id="challenge_retrieve",
        tags=["challenges"],
        responses={200: ChallengeDetailOutput, **error_responses(404)},
        description="A challenge with progress, forecast, skill slots, counterpart and team standings.",
    )
    def get(self, request: Request, challenge_id: int) -> Response:
        challenge = _visible_challenge(request, challenge_id)
        return Response(ChallengeDetailOutput(challenge, context={"request": request}).data)

    @extend_schema(
        operation_id="challenge_update",
        tags=["challenges"],
        request=ChallengeInput(partial=True),
        responses={200: ChallengeDetailOutput, **error_responses(400, 404, 409)},
        description="Edit a draft (409 once published: its terms are a promise).",
    )
    def patch(self, request: Request, challenge_id: int) -> Response:
        challenge = _visible_challenge(request, challenge_id)
        data = _valid(ChallengeInput, request.data, partial=True)
        body = cast(dict[str, Any], request.data)  # a JSON object: the partial validation checked it
        nested = {key: body[key] for key in ("skill_slots", "counterpart") if key in body}
        data.update(_valid(ChallengeNestedInput, nested))
        services.challenge_update(
            actor=request_user(request), challenge_id=challenge.pk, **_challenge_write_arguments(data)
        )
        challenge = _visible_challenge(request, challenge.pk)
        return Response(ChallengeDetailOutput(challenge, context={"request": request}).data)


class ChallengePublishApi(APIView):
    permission_classes = [IsOrganizationAdmin]

    @extend_schema(
        operation_id="challenge_publish",
        tags=["challenges"],
        request=None,
        responses={200: ChallengeOutput, **error_responses(400, 402, 404, 409)},
        description="draft → open.",
    )
    def post(self, request: Request, challenge_id: int) -> Response:
        challenge = _visible_challenge(request, challenge_id)
        challenge = services.challenge_publish(actor=request_user(request), challenge_id=challenge.pk)
        return Response(ChallengeOutput(challenge).data)


class ChallengeCancelApi(APIView):
    permission_classes = [IsOrganizationAdmin]

    class Input(serializers.Serializer):
        cause = serializers.CharField(max_length=300, help_text="Why: participants will read it.")

        class Meta:
            ref_name = "ChallengeCancelInput"

    @extend_schema(
        operation_id="challenge_cancel",
        tags=["challenges"],
        request=Input,
        responses={200: ChallengeOutput, **error_responses(400, 404, 409)},
        description="draft or open → cancelled; the counterpart becomes void.",
    )
    def post(self, request: Request, challenge_id: int) -> Response:
        challenge = _visible_challenge(request, challenge_id)
        data = _valid(self.Input, request.data)
        challenge = services.challenge_cancel(
            actor=request_user(request), challenge_id=challenge.pk, cause=data["cause"]
        )
        return Response(ChallengeOutput(challenge).data)


class CounterpartDeliverApi(APIView):
    permission_classes = [IsOrganizationAdmin]

    class Input(serializers.Serializer):
        proof_text = serializers.CharField(allow_blank=True, default="")
        proof_url = serializers.URLField(max_length=500, allow_blank=True, default="")

        class Meta:
            ref_name = "CounterpartDeliverInput"

    @extend_schema(
        operation_id="counterpart_deliver",
        tags=["challenges"],
        request=Input,
        responses={200: CounterpartOutput, **error_responses(400, 404, 409)},
        description="due → delivered, with a proof (a text or a link).",
    )
    def post(self, request: Request, challenge_id: int) -> Response:
        challenge = _visible_challenge(request, challenge_id)
        data = _valid(self.Input, request.data)
        counterpart = services.counterpart_deliver(
            actor=request_user(request), challenge_id=challenge.pk, **data
        )
        return Response(CounterpartOutput(counterpart).data)


class ChallengeEventListApi(APIView):
    permission_classes = [ReadsEverything]
    pagination_class = Pagination

    @extend_schema(
        operation_id="challenge_event_list",
        tags=["challenges"],
        responses={200: ChallengeEventOutput(many=True), **error_responses(400, 404)},
        description="Every transition of the challenge and of its counterpart: when, who, why.",
    )
    def get(self, request: Request, challenge_id: int) -> Response:
        challenge = _visible_challenge(request, challenge_id)
        return paginated_response(
            view=self,
            request=request,
            queryset=selectors.challenge_events(challenge),
            serializer_class=ChallengeEventOutput,
        )


# Pledges ----------------------------------------------------------------------------------------


class PledgeCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    class Input(serializers.Serializer):
        skill_slot = id_field(
            allow_null=True, default=None, help_text="Skills goals: the id of the slot offered."
        )

        class Meta:
            ref_name = "PledgeInput"

    @extend_schema(
        operation_id="pledge_create",
        tags=["pledges"],
        request=Input,
        responses={201: PledgeOutput, **error_responses(400, 402, 404, 409)},
        description="Pledge to the challenge, for oneself.",
    )
    def post(self, request: Request, challenge_id: int) -> Response:
        data = _valid(self.Input, request.data)
        # The hot path of a launch day: no lookups beyond what pledge_create needs. Whether this
        # person may see the challenge matters only when the pledge is refused (a draft is a 404).
        try:
            pledge = services.pledge_create(
                actor=request_user(request), challenge_id=challenge_id, skill_slot_id=data["skill_slot"]
            )
        except (DjangoValidationError, TransitionRefused):
            _visible_challenge(request, challenge_id)
            raise
        return Response(
            PledgeOutput(pledge, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class PledgeWithdrawApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="pledge_withdraw",
        tags=["pledges"],
        request=None,
        responses={200: PledgeOutput, **error_responses(404, 409)},
        description="Withdraw one's own pledge, while the challenge is open.",
    )
    def post(self, request: Request, challenge_id: int) -> Response:
        challenge = _visible_challenge(request, challenge_id)
        pledge = services.pledge_withdraw(actor=request_user(request), challenge_id=challenge.pk)
        pledge = selectors.pledge_list().get(pk=pledge.pk)
        return Response(PledgeOutput(pledge, context={"request": request}).data)


class PledgeConfirmApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="pledge_confirm",
        tags=["pledges"],
        request=None,
        responses={200: PledgeOutput, **error_responses(404, 409)},
        description="Once the challenge succeeded: say one did what one pledged.",
    )
    def post(self, request: Request, challenge_id: int) -> Response:
        challenge = _visible_challenge(request, challenge_id)
        pledge = services.pledge_confirm(actor=request_user(request), challenge_id=challenge.pk)
        pledge = selectors.pledge_list().get(pk=pledge.pk)
        return Response(PledgeOutput(pledge, context={"request": request}).data)


class OwnOrAllFilters(serializers.Serializer):
    challenge = id_field(required=False, help_text="Only this challenge's.")


class PledgeListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = Pagination

    @extend_schema(
        operation_id="pledge_list",
        tags=["pledges"],
        parameters=[OwnOrAllFilters],
        responses={200: PledgeOutput(many=True), **error_responses(400, 404)},
        description="A participant's own pledges; every pledge for admins and executives. Newest first.",
    )
    def get(self, request: Request) -> Response:
        filters = _valid(OwnOrAllFilters, request.query_params)
        user = request_user(request)
        queryset = selectors.pledge_list(
            user_id=None if can_read_all(user) else user.pk, challenge_id=filters.get("challenge")
        )
        return paginated_response(
            view=self, request=request, queryset=queryset, serializer_class=PledgeOutput
        )


# Contributions ----------------------------------------------------------------------------------


class ContributionInput(serializers.Serializer):
    challenge = id_field(help_text="The challenge's id.")
    day = serializers.DateField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    note = serializers.CharField(max_length=300, allow_blank=True, default="")
    skill_slot = id_field(
        allow_null=True, default=None, help_text="Skills goals: the slot these hours are for."
    )

    class Meta:
        ref_name = "ContributionInput"


class ContributionListCreateApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = Pagination

    @extend_schema(
        operation_id="contribution_list",
        tags=["contributions"],
        parameters=[OwnOrAllFilters],
        responses={200: ContributionOutput(many=True), **error_responses(400, 404)},
        description="A participant's own contributions; all of them for admins and executives.",
    )
    def get(self, request: Request) -> Response:
        filters = _valid(OwnOrAllFilters, request.query_params)
        user = request_user(request)
        queryset = selectors.contribution_list(
            user_id=None if can_read_all(user) else user.pk, challenge_id=filters.get("challenge")
        )
        return paginated_response(
            view=self, request=request, queryset=queryset, serializer_class=ContributionOutput
        )

    @extend_schema(
        operation_id="contribution_create",
        tags=["contributions"],
        request=ContributionInput,
        responses={201: ContributionOutput, **error_responses(400, 402, 409)},
        description="Log a quantity (or hours on a skill slot) for oneself.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(ContributionInput, request.data)
        try:
            challenge = _visible_challenge(request, data["challenge"])
        except NotFound as exc:
            raise ValidationError({"challenge": ["This challenge does not exist."]}) from exc
        contribution = services.contribution_create(
            actor=request_user(request),
            challenge_id=challenge.pk,
            day=data["day"],
            amount=data["amount"],
            note=data["note"],
            skill_slot_id=data["skill_slot"],
        )
        contribution = selectors.contribution_list().get(pk=contribution.pk)
        return Response(
            ContributionOutput(contribution, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )
