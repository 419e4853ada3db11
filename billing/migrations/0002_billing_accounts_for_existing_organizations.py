# Data only: every organisation provisioned before billing existed gets its billing row (on
# Discovery, no Stripe customer yet: one is made when first needed). New organisations get theirs
# from the provisioning step billing.services.billing_setup.

from django.db import migrations


def accounts_create(apps, schema_editor):
    Organization = apps.get_model("tenants", "Organization")
    BillingAccount = apps.get_model("billing", "BillingAccount")
    have = set(BillingAccount.objects.values_list("organization_id", flat=True))
    BillingAccount.objects.bulk_create(
        [
            BillingAccount(organization_id=pk)
            for pk in Organization.objects.exclude(schema_name="public").values_list("pk", flat=True)
            if pk not in have
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_billing_tables")]

    # Going back leaves the rows: 0001's reversal drops the table with them.
    operations = [migrations.RunPython(accounts_create, migrations.RunPython.noop)]
