"""The organisation's own settings in the API (/api/v1/organization/): admins and executives read,
admins change; the fields keep the model's names."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ReadsEverything, error_responses
from core.permissions import can_manage
from core.serializers import OptionalUrlField
from tenants.http import request_organization
from tenants.models import Organization
from tenants.services import organization_settings_update


class OrganizationOutput(serializers.ModelSerializer[Organization]):
    slug = serializers.CharField(source="schema_name", read_only=True)
    logo = OptionalUrlField(source="logo_url", help_text="The logo's address on this host; null without one.")

    class Meta:
        model = Organization
        ref_name = "Organization"
        fields = [
            "slug", "name", "kind", "locale", "timezone", "headcount", "allowed_email_domains",
            "embed_origins", "brand_color", "logo", "plan", "billing_state",
        ]  # fmt: skip
        read_only_fields = fields


class OrganizationInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    locale = serializers.ChoiceField(choices=Organization.Locale.choices, required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    headcount = serializers.IntegerField(min_value=1, max_value=10_000_000, allow_null=True, required=False)
    allowed_email_domains = serializers.ListField(
        child=serializers.CharField(max_length=253), max_length=50, required=False
    )
    embed_origins = serializers.ListField(
        child=serializers.CharField(max_length=200), max_length=20, required=False
    )
    brand_color = serializers.CharField(
        max_length=7, required=False, help_text="#RRGGBB, readable under white text."
    )

    class Meta:
        ref_name = "OrganizationInput"


class OrganizationApi(APIView):
    permission_classes = [ReadsEverything]

    @extend_schema(
        operation_id="organization_retrieve",
        tags=["organization"],
        responses={200: OrganizationOutput, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response(OrganizationOutput(request_organization(request)).data)

    @extend_schema(
        operation_id="organization_update",
        tags=["organization"],
        request=OrganizationInput,
        responses={200: OrganizationOutput, **error_responses(400)},
        description="Admins change the settings; each field is checked, and a refusal changes nothing.",
    )
    def patch(self, request: Request) -> Response:
        if not can_manage(request.user):
            self.permission_denied(request, message="Only an organisation admin can change the settings.")
        serializer = OrganizationInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization = organization_settings_update(
            actor=request.user, organization=request_organization(request), fields=serializer.validated_data
        )
        return Response(OrganizationOutput(organization).data)
