"""The lifecycles of a challenge and of its counterpart, as tables.

Each transition says where it may start, where it ends, who may ask for it (a permission, or None
for the system alone) and what it means. challenges/services/lifecycle.py performs every one of
them, through one function per lifecycle, and does their effects in plain sight.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy

from challenges.models import Challenge, Counterpart
from core.permissions import MANAGE
from core.transitions import Transition, transition_check, transition_table

ChallengeStatus = Challenge.Status
CounterpartStatus = Counterpart.Status

CHALLENGE_TRANSITIONS: dict[str, Transition] = transition_table(
    ("publish", {ChallengeStatus.DRAFT}, ChallengeStatus.OPEN, MANAGE,
     "An admin publishes a complete draft; people can pledge from its start."),
    ("succeed", {ChallengeStatus.OPEN}, ChallengeStatus.SUCCEEDED, None,
     "The goal is reached: final. The counterpart becomes due; participants and admins are told."),
    ("fail", {ChallengeStatus.OPEN}, ChallengeStatus.FAILED, None,
     "The deadline passed short of the goal. The counterpart is void."),
    ("cancel", {ChallengeStatus.DRAFT, ChallengeStatus.OPEN}, ChallengeStatus.CANCELLED, MANAGE,
     "An admin cancels a challenge that has not ended. The counterpart is void."),
)  # fmt: skip

COUNTERPART_TRANSITIONS: dict[str, Transition] = transition_table(
    ("fall_due", {CounterpartStatus.PROMISED}, CounterpartStatus.DUE, None,
     "The challenge succeeded: the organisation now owes its counterpart."),
    ("deliver", {CounterpartStatus.DUE}, CounterpartStatus.DELIVERED, MANAGE,
     "An admin records the delivery with proof (text, link or file)."),
    ("void", {CounterpartStatus.PROMISED}, CounterpartStatus.VOID, None,
     "The challenge failed or was cancelled: nothing is owed."),
)  # fmt: skip


# The labels of the statuses are the models' choices (challenge.get_status_display()). A status
# inside a sentence is another word in some languages ("un défi en brouillon"): these.
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

TABLES = {"challenge": CHALLENGE_TRANSITIONS, "counterpart": COUNTERPART_TRANSITIONS}


def status_word(status: str, subject: str = "challenge") -> str:
    """The status as a word of the current language, for a sentence that names it."""
    return str(STATUS_WORDS[subject].get(status, status))


def check_transition(subject: str, name: str, current: str) -> Transition:
    """The transition `name` of `subject` ("challenge" or "counterpart") from `current`; else
    TransitionRefused with its sentence."""
    return transition_check(
        TABLES[subject],
        name,
        current,
        refusal=str(REFUSALS[subject, name]),
        word=lambda status: status_word(status, subject),
    )
