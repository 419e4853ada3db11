"""Lifecycles as tables of transitions: from, to, who may ask, what it means.

An app declares its tables (challenges/states.py) and performs every status change through one
function of its own that checks the table here, records the real previous state, the actor and the
cause, and queues its effects on commit.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    permission: str | None  # None: only the system performs it
    description: str


class TransitionRefused(Exception):  # noqa: N818 - reads as what happened
    """An invalid transition: the message says why, for a person to read (HTTP 409 in the API)."""


def transition_table(*rows: tuple[str, Iterable[str], str, str | None, str]) -> dict[str, Transition]:
    return {
        name: Transition(name, frozenset(sources), target, permission, text)
        for name, sources, target, permission, text in rows
    }


def transition_check(
    table: dict[str, Transition], name: str, current: str, *, refusal: str, word: Callable[[str], str]
) -> Transition:
    """The transition `name` from `current`, or TransitionRefused with `refusal` filled in
    (%(status)s: the current status, %(allowed)s: the statuses it may start from)."""
    transition = table[name]
    if current not in transition.sources:
        allowed = ", ".join(word(source) for source in sorted(transition.sources))
        raise TransitionRefused(refusal % {"status": word(current), "allowed": allowed})
    return transition
