"""The plan's limits and read-only mode, where challenges open and people take part.

The limits come from tenants.limits (billing provides them; this layer cannot import billing):

- Publishing: at most `open_challenges` open at once. Publishes of one organisation are serialised by
  an advisory lock taken after the challenge's row, so two at once cannot both take the last place.
- Taking part (a pledge, a contribution): at most `active_participants` people a billing period. A
  person already active this period goes on freely, with one indexed query and no lock; a newcomer
  takes the organisation's newcomer lock *before* any pledge row (it comes first in the lock order of
  pledges.py), is counted under it and refused when the plan is full, so newcomers never overshoot.
  An unlimited plan costs no query at all.
- The admins are e-mailed once a period when the limit is near (80 %) and once when it is reached
  (send-once keys per period), queued on commit; a refusal queues the "reached" e-mail after its
  own rollback (`admins_told_when_full`), so that the person turned away is never the only one who
  knows.
- Read-only (unpaid): `writes_allowed` refuses the writes of people whatever the way in (the
  middleware refuses every write over HTTP first); the product's own tasks (closing expired
  challenges, e-mails) are not guarded and keep running.
"""

import datetime as dt
import functools
import math
import zoneinfo
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from accounts.models import User
from challenges.selectors.activity import (
    active_participants_since,
    open_challenges_count,
    person_active_since,
)
from core.db import advisory_xact_lock
from core.errors import PlanLimitReached
from tenants.background import enqueue_on_commit
from tenants.limits import (
    current_organization,
    organization_billing_url,
    organization_limits,
    organization_read_only,
    read_only_refusal,
)
from tenants.models import Organization

P = ParamSpec("P")
R = TypeVar("R")

OPEN_CHALLENGES = "open_challenges"
ACTIVE_PARTICIPANTS = "active_participants"
# Advisory lock namespaces (32-bit), keyed by the organisation's id: "CRP1" publishes, "CRN1" newcomers.
PUBLISH_LOCK = 0x43525031
NEWCOMERS_LOCK = 0x43524E31
# The admins hear that the limit is near when this share of it is taken.
NEAR_SHARE = 0.8
NOTIFY_TASK = "challenges.tasks.notify_plan_limit"
LIMIT_EVENTS = ("near", "reached")


def writes_allowed() -> None:
    """OrganizationReadOnly when the organisation is read-only; no query."""
    organization = current_organization()
    if organization is not None and organization_read_only(organization):
        raise read_only_refusal(organization)


def publish_allowed(now: dt.datetime) -> None:
    """Inside challenge_publish, once the challenge's row is locked and the transition checked:
    PlanLimitReached when the plan's open challenges are all taken."""
    organization = current_organization()
    if organization is None:
        return
    limit = organization_limits(organization, now).open_challenges
    if limit is None:
        return
    advisory_xact_lock(PUBLISH_LOCK, organization.pk)
    if open_challenges_count() >= limit:
        raise PlanLimitReached(
            ngettext(
                "Your plan allows %(limit)s open challenge at a time, and it is taken. Upgrade the plan "
                "to publish this one now, or publish it once the open challenge has ended.",
                "Your plan allows %(limit)s open challenges at a time, and they are all taken. Upgrade "
                "the plan to publish this one now, or publish it once an open challenge has ended.",
                limit,
            )
            % {"limit": limit},
            upgrade_url=organization_billing_url(organization),
            limit=OPEN_CHALLENGES,
        )


def participant_admit(actor: User, now: dt.datetime) -> None:
    """Before a pledge or a contribution writes anything: let `actor` take part this period, or
    PlanLimitReached when they would be one active participant too many."""
    organization = current_organization()
    if organization is None:
        return
    limits = organization_limits(organization, now)
    limit, start = limits.active_participants, limits.period_start
    if limit is None or start is None:
        return
    if person_active_since(actor.pk, start):
        return
    advisory_xact_lock(NEWCOMERS_LOCK, organization.pk)
    count, already = active_participants_since(start, actor.pk)
    if already:  # they took part elsewhere while this waited for the lock
        return
    if count >= limit:
        raise PlanLimitReached(
            _full_sentence(organization, limit, limits.period_end),
            upgrade_url=organization_billing_url(organization),
            limit=ACTIVE_PARTICIPANTS,
        )
    if count + 1 >= limit:
        enqueue_on_commit(NOTIFY_TASK, "reached", start.isoformat())
    elif count + 1 >= near_threshold(limit):
        enqueue_on_commit(NOTIFY_TASK, "near", start.isoformat())


def near_threshold(limit: int) -> int:
    return math.ceil(limit * NEAR_SHARE)


def _full_sentence(organization: Organization, limit: int, period_end: dt.datetime | None) -> str:
    sentence = gettext(
        "Sorry: %(organization)s's plan welcomes up to %(limit)s active participants a month, and "
        "this month is full. Its admins have been told."
    ) % {"organization": organization.name, "limit": limit}
    if period_end is not None:
        local = period_end.astimezone(zoneinfo.ZoneInfo(organization.timezone))
        sentence += " " + gettext(
            "You can take part from %(date)s, or sooner if they upgrade the plan. "
            "Thank you for your patience."
        ) % {"date": formats.date_format(local.date(), "j F")}
    return sentence


def admins_told_when_full(service: Callable[P, R]) -> Callable[P, R]:
    """Around a write that admits participants (outside its transaction): when it was refused for a
    full plan, queue the admins' "reached" e-mail, which the refused transaction's rollback dropped.
    Once per period whatever the number of refusals (send-once)."""

    @functools.wraps(service)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        except PlanLimitReached as refusal:
            organization = current_organization()
            if refusal.limit == ACTIVE_PARTICIPANTS and organization is not None:
                start = organization_limits(organization, timezone.now()).period_start
                if start is not None:
                    enqueue_on_commit(NOTIFY_TASK, "reached", start.isoformat())
            raise

    return wrapped
