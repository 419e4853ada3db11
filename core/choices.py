"""Labels of stored choices."""

from django.db import models


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """A choice's label in the active language (as get_FOO_display gives, without rebuilding the
    field's choices on every call); the stored value itself when it is not among the choices."""
    return str(choices(value).label) if value in choices.values else value
