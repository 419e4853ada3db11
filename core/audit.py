"""The audit trail: every admin action, recorded once, with who, when and from which client.

A service that performs an admin action calls `audit_record` in its transaction (the entry exists
if and only if the action happened). The rows are AUDIT_MODEL (accounts.AuditEntry), reached by
name so that this bottom layer imports no app; nothing edits or deletes them.
"""

from typing import Any

from django.apps import apps
from django.conf import settings

from core.http import current_request

# Settings whose values never enter the trail, only the fact that they changed.
SECRET_FIELDS = frozenset({"password", "key_hash", "secret"})


def audit_model() -> Any:
    return apps.get_model(settings.AUDIT_MODEL)


def audit_record(
    kind: str,
    *,
    actor: Any,
    subject: Any = None,
    target: str = "",
    changes: list[dict[str, Any]] | None = None,
) -> Any:
    """Record that `actor` did `kind` (to `subject`, a person, or `target`, a thing's name)."""
    context = current_request()
    return audit_model().objects.create(
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        subject=subject,
        target=target[:200],
        changes=[
            {**change, "old": None, "new": None} if change.get("field") in SECRET_FIELDS else change
            for change in changes or []
        ],
        client=context.client[:64],
        request_id=context.request_id[:64],
    )


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """[{field, old, new}] for each field whose value differs (values as JSON can hold them)."""
    return [
        {"field": field, "old": _plain(before.get(field)), "new": _plain(after.get(field))}
        for field in after
        if before.get(field) != after.get(field)
    ]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)
