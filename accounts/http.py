"""The signed-in person of a request."""

from typing import cast

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import User


def request_user(request: HttpRequest | Request) -> User:
    """The signed-in person (views reach this only past their sign-in check)."""
    return cast(User, request.user)
