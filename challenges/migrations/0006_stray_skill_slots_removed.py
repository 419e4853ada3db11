"""Skill slots belong to skills goals. The API once stored the slots it was sent whatever the goal;
a slot of another kind of goal counts nothing and no pledge or contribution can name it: it goes."""

from django.db import migrations


def remove(apps, schema_editor):
    SkillSlot = apps.get_model("challenges", "SkillSlot")
    SkillSlot.objects.exclude(challenge__goal_kind="skills").filter(
        pledges__isnull=True, contributions__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("challenges", "0005_challenge_dates_in_range")]

    operations = [migrations.RunPython(remove, migrations.RunPython.noop)]
