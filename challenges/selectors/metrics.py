"""Reads on metrics and impact factors, and the words that follow a number of a goal."""

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext

from challenges.models import Challenge, ImpactFactor, Metric


def metric_list() -> QuerySet[Metric]:
    return Metric.objects.select_related("action_factor", "baseline_factor").order_by("name_en", "pk")


def impact_factor_list() -> QuerySet[ImpactFactor]:
    return ImpactFactor.objects.order_by("key")


def _french() -> bool:
    return (translation.get_language() or "").startswith("fr")


def metric_unit(metric: Metric | None) -> str:
    """The metric's unit in the language of the page or e-mail being written."""
    if metric is None:
        return ""
    return metric.unit_fr if _french() else metric.unit_en


def metric_name(metric: Metric | None) -> str:
    if metric is None:
        return ""
    return metric.name_fr if _french() else metric.name_en


def goal_unit(challenge: Challenge) -> str:
    """What the goal counts, to follow a number: "participants", "km", "places"."""
    if challenge.goal_kind == Challenge.GoalKind.PARTICIPANTS:
        return gettext("participants")
    if challenge.goal_kind == Challenge.GoalKind.SKILLS:
        return gettext("places")
    return metric_unit(challenge.metric)
