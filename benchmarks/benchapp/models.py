from django.db import models


class BenchNote(models.Model):
    """A tiny table, created in every organisation's schema by the benchmark's one new migration."""

    text = models.CharField(max_length=40)

    def __str__(self) -> str:
        return self.text
