"""API tokens for integrations (/api/v1/tokens/): organisation admins list, create and revoke them."""

from django.shortcuts import get_object_or_404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.http import request_user
from accounts.models import ApiToken, AuditEntry
from accounts.selectors import AuditFilters, audit_list, person_label
from accounts.serializers import PersonOutput
from accounts.tokens import api_token_create, api_token_list, api_token_revoke
from core.api import IsOrganizationAdmin, Pagination, error_responses, paginated_response
from core.serializers import id_field


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes ApiTokenAuthentication."""

    target_class = "accounts.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token created by an organisation admin (`Token <secret>` works too).",
        }


class ApiTokenOutput(serializers.ModelSerializer[ApiToken]):
    user = PersonOutput(read_only=True, help_text="The person the token acts as.")
    created_by = PersonOutput(read_only=True, allow_null=True)

    class Meta:
        model = ApiToken
        ref_name = "ApiToken"
        fields = [
            "id", "name", "prefix", "scope", "user", "created_by", "created_at", "expires_at",
            "last_used_at", "revoked_at",
        ]  # fmt: skip
        read_only_fields = fields


class ApiTokenCreatedOutput(ApiTokenOutput):
    secret = serializers.SerializerMethodField(
        help_text="Shown once, now: only its hash is kept. Send it as `Authorization: Bearer <secret>`."
    )

    class Meta(ApiTokenOutput.Meta):
        ref_name = "ApiTokenCreated"
        fields = [*ApiTokenOutput.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, token: ApiToken) -> str:
        return str(self.context["secret"])


class SignedInNotWithToken(BasePermission):
    """Tokens are made and revoked by an admin signed in to the site: a token cannot mint others."""

    message = "API tokens are created and revoked by an admin signed in to the site, not with a token."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in ("GET", "HEAD", "OPTIONS") or request.auth is None


class ApiTokenListCreateApi(APIView):
    permission_classes = [IsOrganizationAdmin, SignedInNotWithToken]
    pagination_class = Pagination

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=100, help_text="What uses it, e.g. the intranet widget.")
        scope = serializers.ChoiceField(
            choices=ApiToken.Scope.choices,
            default=ApiToken.Scope.READ,
            help_text="`read`: GET only. `write`: also creates and changes, as its person may.",
        )
        expires_at = serializers.DateTimeField(
            required=False, help_text="When it stops working: 90 days from now by default, a year at most."
        )

        class Meta:
            ref_name = "ApiTokenInput"

    @extend_schema(
        operation_id="api_token_list",
        tags=["tokens"],
        responses={200: ApiTokenOutput(many=True), **error_responses(400, 404)},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            view=self, request=request, queryset=api_token_list(), serializer_class=ApiTokenOutput
        )

    @extend_schema(
        operation_id="api_token_create",
        tags=["tokens"],
        request=Input,
        responses={201: ApiTokenCreatedOutput, **error_responses(400)},
        description="Create a token acting as oneself. The answer holds the secret, shown this once.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token, secret = api_token_create(
            actor=request_user(request),
            name=data["name"],
            scope=data["scope"],
            expires_at=data.get("expires_at"),
        )
        token = api_token_list().get(pk=token.pk)
        output = ApiTokenCreatedOutput(token, context={"request": request, "secret": secret})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ApiTokenRevokeApi(APIView):
    permission_classes = [IsOrganizationAdmin, SignedInNotWithToken]

    @extend_schema(
        operation_id="api_token_revoke",
        tags=["tokens"],
        request=None,
        responses={200: ApiTokenOutput, **error_responses(404)},
        description="Revoke a token for good; revoking it again changes nothing.",
    )
    def post(self, request: Request, token_id: int) -> Response:
        token = get_object_or_404(ApiToken, pk=token_id)
        api_token_revoke(actor=request_user(request), token_id=token.pk)
        token = api_token_list().get(pk=token.pk)
        return Response(ApiTokenOutput(token, context={"request": request}).data)


# The audit trail ------------------------------------------------------------------------------------


class AuditEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=AuditEntry.Kind.choices)
    actor = serializers.SerializerMethodField(help_text="Who did it (“erased person” after an erasure).")
    subject = serializers.SerializerMethodField(help_text="The person it concerned, if any.")
    target = serializers.CharField(help_text="The thing it concerned, if any (a title, a name).")
    changes = serializers.ListField(child=serializers.DictField(), help_text="[{field, old, new}].")
    client = serializers.CharField(help_text="The client's address.")

    class Meta:
        ref_name = "AuditEntry"

    def get_actor(self, entry: AuditEntry) -> str:
        return person_label(entry.actor)

    def get_subject(self, entry: AuditEntry) -> str | None:
        return person_label(entry.subject) if entry.subject_id else None


class AuditFiltersInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AuditEntry.Kind.choices, required=False)
    person = id_field(required=False, help_text="Entries by or about this person.")


class AuditListApi(APIView):
    permission_classes = [IsOrganizationAdmin]
    pagination_class = Pagination

    @extend_schema(
        operation_id="audit_list",
        tags=["audit"],
        parameters=[AuditFiltersInput],
        responses={200: AuditEntryOutput(many=True), **error_responses(400, 404)},
        description="Every admin action, newest first. Read only: nothing edits the trail.",
    )
    def get(self, request: Request) -> Response:
        filters = AuditFiltersInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        entries = audit_list(AuditFilters(kind=data.get("kind", ""), person_id=data.get("person")))
        return paginated_response(
            view=self, request=request, queryset=entries, serializer_class=AuditEntryOutput
        )
