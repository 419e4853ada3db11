from django.conf import settings
from django.db import models


class BareInsert(models.Model):
    """One row per request of the bare endpoint (benchmarks/urls/challenges.py): who and when,
    with a foreign key to the person as a pledge has."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    # Declared, because mypy's Django settings (config.settings.test) do not install this app.
    objects: models.Manager["BareInsert"] = models.Manager()

    def __str__(self) -> str:
        return f"#{self.pk} at {self.created_at}"
