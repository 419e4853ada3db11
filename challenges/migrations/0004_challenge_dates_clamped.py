"""Bring stored challenge dates into the range the next migration's constraint holds.

Dates outside it could only come from input no longer accepted (a deadline in year 9999, a start in
year 1); they made every page that shows the challenge fail. The row stays, its dates moved to the
nearest bound: a start no earlier than 2000, a deadline within 3 years of it and before 2200.
"""

import datetime as dt

from django.db import migrations
from django.db.models import F, Q

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
LONGEST = dt.timedelta(days=3 * 365 + 1)


def clamp(apps, schema_editor):
    Challenge = apps.get_model("challenges", "Challenge")
    odd = Challenge.objects.filter(
        Q(starts_at__lt=EARLIEST) | Q(deadline__gt=LATEST) | Q(deadline__gt=F("starts_at") + LONGEST)
    )
    for challenge in odd:
        start = min(max(challenge.starts_at, EARLIEST), LATEST - dt.timedelta(days=1))
        deadline = min(max(challenge.deadline, start + dt.timedelta(days=1)), start + LONGEST, LATEST)
        Challenge.objects.filter(pk=challenge.pk).update(starts_at=start, deadline=deadline)


class Migration(migrations.Migration):
    dependencies = [("challenges", "0003_counterpart_amount_not_negative")]

    operations = [migrations.RunPython(clamp, migrations.RunPython.noop)]
