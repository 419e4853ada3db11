"""What a request carries once the routing middleware has run."""

from typing import cast

from django.http import HttpRequest
from rest_framework.request import Request

from tenants.models import Organization


def request_organization(request: HttpRequest | Request) -> Organization:
    """The organisation whose host served this request (views of the organisation URL conf only)."""
    return cast(Organization, request.organization)  # type: ignore[union-attr]
