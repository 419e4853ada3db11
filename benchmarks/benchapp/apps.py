from django.apps import AppConfig


class BenchappConfig(AppConfig):
    name = "benchmarks.benchapp"
    label = "benchapp"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Benchmark-only app"
