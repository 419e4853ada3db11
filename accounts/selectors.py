"""Reads on people."""

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext

from accounts.models import AuditEntry, User


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


def person_label(person: User | None) -> str:
    """A person in the console and the audit trail, which admins read: their shown name and e-mail,
    the e-mail alone, or "erased person" once they erased their account."""
    if person is None:
        return gettext("Crowdact")
    if person.erased_at is not None:
        return gettext("erased person")
    name = person_name(person)
    return f"{name} <{person.email}>" if name else person.email


@dataclass(frozen=True)
class AuditFilters:
    kind: str = ""
    person_id: int | None = None


def audit_list(filters: AuditFilters | None = None) -> QuerySet[AuditEntry]:
    """The trail, newest first, each entry with its actor and subject: one query per page."""
    filters = filters or AuditFilters()
    entries = AuditEntry.objects.select_related("actor", "subject").order_by("-at", "-pk")
    if filters.kind in AuditEntry.Kind.values:
        entries = entries.filter(kind=filters.kind)
    if filters.person_id is not None:
        entries = entries.filter(actor_id=filters.person_id) | entries.filter(subject_id=filters.person_id)
    return entries
