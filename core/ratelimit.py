"""A fixed-window request counter in the cache, for the endpoints that send e-mails or take passwords.

Each limit is counted twice: in the organisation (the default cache's keys carry the schema name)
and across all organisations (the "shared" cache, whose keys do not), so that one client or one
address cannot multiply its allowance by the number of organisations. A window is a fixed slice of
time (e.g. 14:00–14:15); a burst across its edge may reach twice the limit, which is enough to keep a
mailbox from being flooded and costs two cache round trips.
"""

import hashlib
import time
from dataclasses import dataclass

from django.core.cache import BaseCache, caches


@dataclass(frozen=True)
class Limit:
    name: str
    requests: int  # in one organisation, per window
    seconds: int
    requests_everywhere: int  # across all organisations, per window


# What one e-mail address, and one client, may ask. The address limit keeps a mailbox from being
# flooded. The client limit stops one machine from mailing many addresses, yet must let a whole office
# through: a company's staff or a town hall's kiosks often share one public IP address, and a launch
# brings them all to the join page in the same minutes.
PER_ADDRESS = Limit("address", requests=5, seconds=15 * 60, requests_everywhere=10)
PER_CLIENT = Limit("client", requests=100, seconds=15 * 60, requests_everywhere=300)

# What the windows are cut from (tests hold it still, so that no window ends in the middle of one).
clock = time.time


def _key(limit: Limit, subject: str, now: float) -> str:
    # Hashed: keys hold no e-mail address, and any subject makes a valid cache key.
    digest = hashlib.sha256(subject.encode()).hexdigest()
    return f"ratelimit:{limit.name}:{digest}:{int(now // limit.seconds)}"


def _count(cache: BaseCache, key: str, seconds: int) -> int:
    cache.add(key, 0, timeout=seconds)
    try:
        return int(cache.incr(key))
    except ValueError:  # the entry expired between add and incr: this request opens a new window
        cache.set(key, 1, timeout=seconds)
        return 1


def hit(limit: Limit, subject: str) -> bool:
    """Count one request of `subject`; return True while it is within the limit, here and everywhere."""
    key = _key(limit, subject, clock())
    here = _count(caches["default"], key, limit.seconds)
    everywhere = _count(caches["shared"], key, limit.seconds)
    return here <= limit.requests and everywhere <= limit.requests_everywhere


def exceeded(limit: Limit, subject: str) -> bool:
    """Whether `subject` is already past the limit, here or everywhere (nothing is counted)."""
    key = _key(limit, subject, clock())
    here = int(caches["default"].get(key, 0))
    everywhere = int(caches["shared"].get(key, 0))
    return here >= limit.requests or everywhere >= limit.requests_everywhere
