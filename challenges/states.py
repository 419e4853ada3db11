"""The lifecycles of a challenge and of its counterpart, as tables.

Each transition says where it may start, where it ends, who may ask for it (a permission, or None
for the system alone) and what it causes. The services in challenges/services.py perform them and
do their effects in plain sight, in one transaction.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy

from challenges.models import Challenge, Counterpart

ChallengeStatus = Challenge.Status
CounterpartStatus = Counterpart.Status


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    permission: str | None
    description: str


class TransitionRefused(Exception):  # noqa: N818 - reads as what happened
    """An invalid transition: the message says why, for a person to read (HTTP 409 in the API)."""


def _t(name: str, sources: set[str], target: str, permission: str | None, description: str) -> Transition:
    return Transition(name, frozenset(sources), target, permission, description)


MANAGE = "accounts.manage_organization"

CHALLENGE_TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("publish", {ChallengeStatus.DRAFT}, ChallengeStatus.OPEN, MANAGE,
           "An admin publishes a complete draft; people can pledge from its start."),
        _t("succeed", {ChallengeStatus.OPEN}, ChallengeStatus.SUCCEEDED, None,
           "The goal is reached: final. The counterpart becomes due; participants and admins are told."),
        _t("fail", {ChallengeStatus.OPEN}, ChallengeStatus.FAILED, None,
           "The deadline passed short of the goal. The counterpart is void."),
        _t("cancel", {ChallengeStatus.DRAFT, ChallengeStatus.OPEN}, ChallengeStatus.CANCELLED, MANAGE,
           "An admin cancels a challenge that has not ended. The counterpart is void."),
    ]
}  # fmt: skip

COUNTERPART_TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        _t("fall_due", {CounterpartStatus.PROMISED}, CounterpartStatus.DUE, None,
           "The challenge succeeded: the organisation now owes its counterpart."),
        _t("deliver", {CounterpartStatus.DUE}, CounterpartStatus.DELIVERED, MANAGE,
           "An admin records the delivery with proof (text, link or file)."),
        _t("void", {CounterpartStatus.PROMISED}, CounterpartStatus.VOID, None,
           "The challenge failed or was cancelled: nothing is owed."),
    ]
}  # fmt: skip


# A status inside a sentence of a refusal: in English the stored value itself ("open").
STATUS_WORDS: dict[str, dict[str, Promise]] = {
    "challenge": {
        ChallengeStatus.DRAFT: pgettext_lazy("challenge status", "draft"),
        ChallengeStatus.OPEN: pgettext_lazy("challenge status", "open"),
        ChallengeStatus.SUCCEEDED: pgettext_lazy("challenge status", "succeeded"),
        ChallengeStatus.FAILED: pgettext_lazy("challenge status", "failed"),
        ChallengeStatus.CANCELLED: pgettext_lazy("challenge status", "cancelled"),
    },
    "counterpart": {
        CounterpartStatus.PROMISED: pgettext_lazy("counterpart status", "promised"),
        CounterpartStatus.DUE: pgettext_lazy("counterpart status", "due"),
        CounterpartStatus.DELIVERED: pgettext_lazy("counterpart status", "delivered"),
        CounterpartStatus.VOID: pgettext_lazy("counterpart status", "void"),
    },
}

# One whole sentence per transition, so that each language can word it its own way.
REFUSALS: dict[tuple[str, str], Promise] = {
    ("challenge", "publish"): gettext_lazy(
        "Cannot publish a challenge that is %(status)s; only from: %(allowed)s."
    ),
    ("challenge", "succeed"): gettext_lazy(
        "Cannot succeed a challenge that is %(status)s; only from: %(allowed)s."
    ),
    ("challenge", "fail"): gettext_lazy(
        "Cannot fail a challenge that is %(status)s; only from: %(allowed)s."
    ),
    ("challenge", "cancel"): gettext_lazy(
        "Cannot cancel a challenge that is %(status)s; only from: %(allowed)s."
    ),
    ("counterpart", "fall_due"): gettext_lazy(
        "Cannot fall due a counterpart that is %(status)s; only from: %(allowed)s."
    ),
    ("counterpart", "deliver"): gettext_lazy(
        "Cannot deliver a counterpart that is %(status)s; only from: %(allowed)s."
    ),
    ("counterpart", "void"): gettext_lazy(
        "Cannot void a counterpart that is %(status)s; only from: %(allowed)s."
    ),
}


def status_word(status: str, subject: str = "challenge") -> str:
    """The status as a word of the current language, for a sentence that names it."""
    return str(STATUS_WORDS[subject].get(status, status))


def check_transition(table: dict[str, Transition], name: str, current: str, label: str) -> Transition:
    transition = table[name]
    if current not in transition.sources:
        allowed = ", ".join(status_word(source, label) for source in sorted(transition.sources))
        raise TransitionRefused(
            str(REFUSALS[label, name]) % {"status": status_word(current, label), "allowed": allowed}
        )
    return transition
