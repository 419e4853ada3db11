"""Reads on people."""

from typing import Any

from accounts.models import User


def person_name(person: User | None, *, viewer: Any = None) -> str:
    """How a person is named to `viewer`; empty means "a participant".

    The one rule, for pages, the API, exports and e-mails: a person sees their own name; others see
    it only if the person chose to show it; an erased account has none.
    """
    if person is None or person.erased_at is not None:
        return ""
    if viewer is not None and getattr(viewer, "pk", None) == person.pk:
        return person.display_name.strip()
    return person.display_name.strip() if person.show_name else ""
