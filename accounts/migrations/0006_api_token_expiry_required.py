from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_api_token_expiry_filled")]

    operations = [
        migrations.AlterField(model_name="apitoken", name="expires_at", field=models.DateTimeField()),
    ]
