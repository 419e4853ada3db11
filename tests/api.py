"""What the API tests share: the API's base path, a client on an organisation's host (signed in with a
session when given a person), and JSON posts and patches."""

from typing import Any

from django.conf import settings
from django.test import Client

from accounts.models import User

V1 = "/api/v1"


def api_client(user: User | None = None, host: str = f"alpha.{settings.BASE_DOMAIN}") -> Client:
    """A client on an organisation's host, signed in with a session when given a person (call it in
    that organisation's schema)."""
    client = Client(HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, path: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
    return client.post(path, data or {}, content_type="application/json", **extra)


def patch(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.patch(path, data, content_type="application/json")
