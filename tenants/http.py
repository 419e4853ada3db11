"""What a request carries once the routing middleware and authentication have run."""

from typing import cast

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User
from tenants.models import Organization


def request_organization(request: HttpRequest | Request) -> Organization:
    """The organisation whose host served this request (views of the organisation URL conf only)."""
    return cast(Organization, request.organization)  # type: ignore[union-attr]


def request_user(request: HttpRequest | Request) -> User:
    """The signed-in person (views reach this only past their sign-in check)."""
    return cast(User, request.user)
