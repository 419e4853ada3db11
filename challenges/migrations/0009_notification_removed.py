from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("challenges", "0008_notifications_moved_to_accounts")]

    operations = [migrations.DeleteModel(name="Notification")]
