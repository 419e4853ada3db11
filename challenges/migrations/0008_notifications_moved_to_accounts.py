"""The send-once rows of challenge e-mails join every other e-mail's, in accounts.Notification,
named by their event for good ("challenge:12:goal_reached"). The old table goes next."""

from django.db import migrations


def move(apps, schema_editor):
    old = apps.get_model("challenges", "Notification")
    new = apps.get_model("accounts", "Notification")
    new.objects.bulk_create(
        [
            new(
                event=f"challenge:{row.challenge_id}:{row.event}",
                recipient=row.user.email.lower(),
                language=row.user.language,
                user_id=row.user_id,
                created_at=row.created_at,
                sent_at=row.sent_at,
            )
            for row in old.objects.select_related("user").iterator(chunk_size=2000)
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )


def move_back(apps, schema_editor):
    old = apps.get_model("challenges", "Notification")
    new = apps.get_model("accounts", "Notification")
    for row in new.objects.filter(event__startswith="challenge:", user__isnull=False):
        _, challenge_id, event = row.event.split(":", 2)
        old.objects.get_or_create(
            user_id=row.user_id,
            challenge_id=int(challenge_id),
            event=event,
            defaults={"sent_at": row.sent_at},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("challenges", "0007_choice_labels_translated"),
        ("accounts", "0007_notification"),
    ]

    operations = [migrations.RunPython(move, move_back)]
