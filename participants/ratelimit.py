"""A fixed-window request counter in the cache, for the endpoints that send e-mails to addresses.

Keys go through the cache's tenant-aware key function, so each organisation counts on its own. A
window is a fixed slice of time (e.g. 14:00–14:15); a burst across its edge may reach twice the
limit, which is enough to keep a mailbox from being flooded and is one cache round trip.
"""

import hashlib
import ipaddress
import os
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    name: str
    requests: int
    seconds: int


# What one e-mail address, and one client, may ask of one organisation. The address limit keeps a
# mailbox from being flooded. The client limit stops one machine from mailing many addresses, yet must
# let a whole office through: a company's staff or a town hall's kiosks often share one public IP
# address, and a launch brings them all to the join page in the same minutes.
PER_ADDRESS = Limit("address", requests=5, seconds=15 * 60)
PER_CLIENT = Limit("client", requests=100, seconds=15 * 60)

# The reverse proxies whose X-Forwarded-For is believed: the same list gunicorn trusts for the
# scheme (deploy/gunicorn.conf.py). Anyone else's X-Forwarded-For is ignored.
TRUSTED_PROXIES = frozenset(
    ip.strip() for ip in os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1").split(",") if ip.strip()
)


def _key(limit: Limit, subject: str, now: float) -> str:
    # Hashed: keys hold no e-mail address, and any subject makes a valid cache key.
    digest = hashlib.sha256(subject.encode()).hexdigest()
    return f"ratelimit:{limit.name}:{digest}:{int(now // limit.seconds)}"


def hit(limit: Limit, subject: str) -> bool:
    """Count one request of `subject`; return True while it is within the limit."""
    key = _key(limit, subject, time.time())
    cache.add(key, 0, timeout=limit.seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # the entry expired between add and incr: this request opens a new window
        cache.set(key, 1, timeout=limit.seconds)
        count = 1
    return count <= limit.requests


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def client_address(request: HttpRequest, trusted: frozenset[str] = TRUSTED_PROXIES) -> str:
    """The client's IP address.

    REMOTE_ADDR, unless it is a trusted proxy: then the nearest address in X-Forwarded-For that is
    not itself a trusted proxy. X-Forwarded-For from anyone else is ignored, as a client can write it.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    if remote not in trusted and "*" not in trusted:
        return remote or "unknown"
    forwarded = [ip.strip() for ip in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    for ip in reversed(forwarded):
        if ip and ip not in trusted and _is_ip(ip):
            return ip
    return remote or "unknown"
