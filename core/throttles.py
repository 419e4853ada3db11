"""API throttles: per client (its address, behind the trusted proxies) and per API token."""

from typing import TYPE_CHECKING

from rest_framework.throttling import SimpleRateThrottle

from core.http import client_address

if TYPE_CHECKING:  # rest_framework.views imports its settings, which import this module
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def get_cache_key(self, request: "Request", view: "APIView") -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request._request)}


class TokenRateThrottle(SimpleRateThrottle):
    """Each API token on its own; session requests are counted by the client throttle alone."""

    scope = "token"

    def get_cache_key(self, request: "Request", view: "APIView") -> str | None:
        token_id = getattr(request.auth, "pk", None)
        if token_id is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": token_id}
