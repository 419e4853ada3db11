from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_privacy_and_language")]

    operations = [
        # Tokens made before scopes existed could write: they keep doing so. New ones read by default.
        migrations.AddField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "Read"), ("write", "Read and write")], default="write", max_length=5
            ),
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[("read", "Read"), ("write", "Read and write")], default="read", max_length=5
            ),
        ),
        migrations.AddField(model_name="apitoken", name="expires_at", field=models.DateTimeField(null=True)),
    ]
