from django.apps import AppConfig


class PledgebenchConfig(AppConfig):
    """A benchmark-only tenant app: the table the bare-INSERT endpoint writes to."""

    name = "benchmarks.pledgebench"
    label = "pledgebench"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Pledge benchmark (benchmark only)"
