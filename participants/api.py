"""The organisation's people in the API (/api/v1/people/): admins and executives list them, admins
change a person's role, team and whether they are active."""

from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import people as people_services
from accounts.http import request_user
from accounts.models import User
from accounts.selectors import person_name
from challenges.models import Team
from challenges.services import team_join
from core.api import Pagination, ReadsEverything, error_responses, paginated_response
from core.audit import audit_record
from core.db import atomic_with_retry
from core.permissions import can_manage
from core.serializers import id_field
from participants.selectors import PeopleFilters, PeoplePages, people_list, person_role_key, person_status

ROLES = ["participant", "executive", "admin"]
STATUSES = ["active", "invited", "deactivated"]


class PersonDetailOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    display_name = serializers.SerializerMethodField(help_text="Null unless the person chose to show it.")
    role = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    joined_at = serializers.DateTimeField(source="date_joined")
    last_active_at = serializers.SerializerMethodField()
    pledges = serializers.IntegerField(source="pledge_total")
    contributions = serializers.IntegerField(source="contribution_total")
    is_active = serializers.BooleanField()

    class Meta:
        ref_name = "PersonDetail"

    def get_display_name(self, person: User) -> str | None:
        return person_name(person) or None

    def get_role(self, person: User) -> str:
        return person_role_key(person)

    def get_status(self, person: User) -> str:
        return person_status(person)

    def get_team(self, person: User) -> dict[str, Any] | None:
        team_id = getattr(person, "team_id", None)
        return {"id": team_id, "name": getattr(person, "team_name", "")} if team_id else None

    def get_last_active_at(self, person: User) -> str | None:
        seen = person.last_seen_at or person.last_login
        return seen.isoformat() if seen else None


class PeopleFiltersInput(serializers.Serializer):
    search = serializers.CharField(
        required=False, max_length=100, help_text="Part of an e-mail or a shown name."
    )
    role = serializers.ChoiceField(choices=ROLES, required=False)
    team = id_field(required=False, help_text="A team's id.")
    status = serializers.ChoiceField(choices=STATUSES, required=False)


class PersonInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLES, required=False)
    team = id_field(required=False, help_text="A team's id: moves the person there.")
    is_active = serializers.BooleanField(required=False, help_text="false: the person can no longer sign in.")

    class Meta:
        ref_name = "PersonInput"


class PeopleApi(APIView):
    permission_classes = [ReadsEverything]
    pagination_class = Pagination

    @extend_schema(
        operation_id="person_list",
        tags=["people"],
        parameters=[PeopleFiltersInput],
        responses={200: PersonDetailOutput(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        filters = PeopleFiltersInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        queryset = PeoplePages(
            PeopleFilters(
                search=data.get("search", ""),
                role=data.get("role", ""),
                team_id=data.get("team"),
                status=data.get("status", ""),
            )
        )
        return paginated_response(
            view=self, request=request, queryset=queryset, serializer_class=PersonDetailOutput
        )


class PersonApi(APIView):
    permission_classes = [ReadsEverything]

    @extend_schema(
        operation_id="person_retrieve",
        tags=["people"],
        responses={200: PersonDetailOutput, **error_responses(404)},
    )
    def get(self, request: Request, person_id: int) -> Response:
        return Response(PersonDetailOutput(get_object_or_404(people_list(), pk=person_id)).data)

    @extend_schema(
        operation_id="person_update",
        tags=["people"],
        request=PersonInput,
        responses={200: PersonDetailOutput, **error_responses(400, 404)},
        description="Admins change a person's role, team and whether they are active. The last active "
        "admin can be neither demoted nor deactivated.",
    )
    def patch(self, request: Request, person_id: int) -> Response:
        if not can_manage(request.user):
            self.permission_denied(request, message="Only an organisation admin can change people.")
        person = get_object_or_404(people_list(), pk=person_id)
        serializer = PersonInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        _person_update(actor=request_user(request), person=person, data=dict(serializer.validated_data))
        return Response(PersonDetailOutput(people_list().get(pk=person.pk)).data)


@atomic_with_retry
def _person_update(*, actor: User, person: User, data: dict[str, Any]) -> None:
    """All the changes of one request, or none."""
    if "team" in data:
        team = Team.objects.filter(pk=data["team"]).first()
        if team is None:
            raise ValidationError({"team": ["This team does not exist."]})
        before = getattr(person, "team_name", None)
        team_join(actor=actor, user=person, team=team)
        if before != team.name:
            audit_record(
                "team_changed",
                actor=actor,
                subject=person,
                changes=[{"field": "team", "old": before, "new": team.name}],
            )
    if "role" in data:
        people_services.person_role_set(actor=actor, person=person, role=data["role"])
    if data.get("is_active") is False:
        people_services.person_deactivate(actor=actor, person=person)
    elif data.get("is_active") is True:
        people_services.person_reactivate(actor=actor, person=person)
