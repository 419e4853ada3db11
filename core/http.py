"""Who sent a request: the client's address, as far as the trusted proxies say.

TRUSTED_PROXY_IPS (addresses or CIDR networks) lists the reverse proxies whose X-Forwarded-For is
believed; gunicorn's forwarded_allow_ips reads the same variable (deploy/gunicorn.conf.py). Behind a
proxy that is not listed, every visitor has the proxy's address, so rate limits would close pages for
everyone at once; an X-Forwarded-For from anyone else is ignored, since a client can write it.
"""

import contextvars
import dataclasses
import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def trusted_proxies(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
    if address is None:
        return False
    return any(address in network for network in trusted_proxies(tuple(settings.TRUSTED_PROXY_IPS)))


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless it is a trusted proxy: then the nearest address in X-Forwarded-For that
    is not itself a trusted proxy."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    if not _is_trusted(_address(remote)):
        return remote or "unknown"
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    for entry in reversed(forwarded):
        address = _address(entry)
        if address is None:
            continue
        if not _is_trusted(address):
            return str(address)
    return remote or "unknown"


# The request being served, for what records who did what from where (core/audit.py) and for the
# logs (core/observability.py): set by core.middleware.RequestContextMiddleware, empty outside a
# request (a task gets the id of the request that sent it).
@dataclasses.dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client: str = ""
    # The request itself, for the person's id in the logs once authentication has told it.
    request: HttpRequest | None = dataclasses.field(default=None, compare=False, repr=False)


_request_context: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "crowdact_request",
    default=RequestContext(),  # noqa: B039 - frozen: nothing mutates it
)


def current_request() -> RequestContext:
    return _request_context.get()


def request_context_set(context: RequestContext) -> contextvars.Token[RequestContext]:
    return _request_context.set(context)


def request_context_reset(token: contextvars.Token[RequestContext]) -> None:
    _request_context.reset(token)
