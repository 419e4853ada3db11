"""What every API view shares: who may do what, how errors look, how lists are paged.

Errors are JSON. A refused input is HTTP 400 with a list of messages per field (nested fields
flattened to dotted paths: `counterpart.currency`, `skill_slots.1.skill`); anything else is
`{"detail": "..."}`: 401 without valid credentials, 403 without the permission, 404, and 409 for a
transition the state of a thing does not allow; 402 `{"detail": "...", "upgrade_url": "..."}` when the
organisation's plan allows no more, or the organisation is read-only until it pays; 503 with
Retry-After when PostgreSQL kept aborting a write for a deadlock or a serialisation failure (nothing
is written).
"""

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView, exception_handler, set_rollback

from core.db import is_retryable
from core.errors import RETRY_AFTER_SECONDS, PaymentRequired, try_again_later_sentence
from core.permissions import can_manage, can_read_all
from core.transitions import TransitionRefused


class IsOrganizationAdmin(BasePermission):
    message = "Only an organisation admin can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_manage(request.user)


class ReadsEverything(BasePermission):
    message = "Only an organisation admin or an executive can read this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return can_read_all(request.user)


class AdminWritesOthersRead(BasePermission):
    """Any signed-in person of the organisation reads; only an admin writes."""

    message = "Only an organisation admin can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in ("GET", "HEAD", "OPTIONS") or can_manage(request.user)


# Errors -----------------------------------------------------------------------------------------


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "This is not possible in the current state."
    default_code = "conflict"


def _flatten(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as one list of messages per (dotted) field."""
    out: dict[str, list[str]] = {}
    here = prefix or api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(data, dict):
        for key, value in data.items():
            name = api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            if isinstance(item, dict | list | tuple):
                if item:
                    out.update(_flatten(item, f"{prefix}.{index}" if prefix else str(index)))
            else:
                out.setdefault(here, []).append(str(item))
    else:
        out.setdefault(here, []).append(str(data))
    return out


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The services' exceptions as HTTP answers: ValidationError 400, PermissionDenied 403,
    PaymentRequired 402 (with the billing page's address), TransitionRefused 409, a deadlock or a
    serialisation failure that outlasted the retries 503."""
    if is_retryable(exc):
        set_rollback()
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return Response({"detail": try_again_later_sentence()}, status=503, headers=headers)
    if isinstance(exc, PaymentRequired):
        return Response({"detail": str(exc), "upgrade_url": exc.upgrade_url}, status=402)
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, TransitionRefused):
        exc = Conflict(str(exc))
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = _flatten(response.data)
    elif response is not None and isinstance(exc, exceptions.ParseError):
        # Every 400 has the same shape: a body that is not JSON is a message about the whole input.
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: [str(exc.detail)]}
    return response


class ErrorOutput(serializers.Serializer[Any]):
    detail = serializers.CharField()

    class Meta:
        ref_name = "Error"


class PaymentRequiredOutput(serializers.Serializer[Any]):
    detail = serializers.CharField()
    upgrade_url = serializers.URLField(
        help_text="The organisation's billing page, where it upgrades or pays."
    )

    class Meta:
        ref_name = "PaymentRequired"


FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Messages per field; nested fields as dotted paths, e.g. `counterpart.currency`.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
_ERROR_DESCRIPTIONS = {
    400: "Invalid input: messages per field.",
    401: "No valid credentials.",
    402: "The organisation's plan allows no more of this, or the organisation is read-only until it pays.",
    403: "Not allowed for this person.",
    404: "Not found in this organisation.",
    409: "Not possible in the current state.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation (401 and 403 always apply)."""
    responses = {}
    for code in sorted({401, 403, *codes}):
        body: Any = {400: FIELD_ERRORS_SCHEMA, 402: PaymentRequiredOutput}.get(code, ErrorOutput)
        responses[code] = OpenApiResponse(response=body, description=_ERROR_DESCRIPTIONS[code])
    return responses


# Lists ------------------------------------------------------------------------------------------


class Pagination(PageNumberPagination):
    page_size: int = api_settings.PAGE_SIZE or 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        """The page size asked for, if it is one: anything else is refused, not silently replaced."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"A page holds 1 to {self.max_page_size} items."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        # DRF writes OpenAPI 3.0's `nullable`, which 3.1 (our schema's version) ignores.
        paginated = super().get_paginated_response_schema(schema)
        for link in ("next", "previous"):
            paginated["properties"][link].pop("nullable", None)
            paginated["properties"][link]["type"] = ["string", "null"]
        return paginated


def paginated_response(
    *,
    view: APIView,
    request: Request,
    queryset: QuerySet[Any] | Sequence[Model] | Any,  # or anything Django's Paginator takes
    serializer_class: type[serializers.BaseSerializer[Any]],
    context: dict[str, Any] | None = None,
) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(page, many=True, context={"request": request, **(context or {})}).data
    return paginator.get_paginated_response(data)
