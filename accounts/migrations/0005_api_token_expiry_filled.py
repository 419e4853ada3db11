"""Tokens made before expiry existed expire 90 days from now, the default lifetime of a new one:
integrations keep working while their admins are told to renew them."""

import datetime as dt

from django.db import migrations
from django.utils import timezone


def fill(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    ApiToken.objects.filter(expires_at__isnull=True).update(expires_at=timezone.now() + dt.timedelta(days=90))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_api_token_scope_and_expiry")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
