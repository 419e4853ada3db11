"""Writes on metrics: an organisation's own units and their impact factors."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext

from accounts.models import AuditEntry, User
from challenges.models import ImpactFactor, Metric
from core.audit import audit_record
from core.db import atomic_with_retry
from core.permissions import MANAGE, require


@atomic_with_retry
def metric_create(
    *,
    actor: User,
    name_en: str,
    unit_en: str,
    daily_cap: Decimal,
    key: str = "",
    name_fr: str = "",
    unit_fr: str = "",
    baseline_factor: ImpactFactor | None = None,
    action_factor: ImpactFactor | None = None,
) -> Metric:
    """An organisation's own metric. CO2e avoided per unit = baseline factor − action factor, so an
    action factor alone means nothing: it needs the baseline it replaces."""
    require(actor, MANAGE)
    errors: dict[str, list[str]] = {}
    if action_factor is not None and baseline_factor is None:
        errors["baseline_factor"] = [gettext("An action factor needs the baseline it replaces.")]
    metric = Metric(
        key=key.strip() or slugify(name_en)[:80],
        name_en=name_en.strip(),
        name_fr=name_fr.strip() or name_en.strip(),
        unit_en=unit_en.strip(),
        unit_fr=unit_fr.strip() or unit_en.strip(),
        daily_cap=daily_cap,
        baseline_factor=baseline_factor,
        action_factor=action_factor,
        is_builtin=False,
    )
    try:
        metric.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    metric.save()
    audit_record(AuditEntry.Kind.METRIC_CREATED, actor=actor, target=metric.name_en)
    return metric
