# Company and ApiKey moved to tenancy with their tables unchanged: state only, no SQL.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("assistant", "0003_order_confirmation_and_key_scope"),
        ("tenancy", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="conversation",
                    name="api_key",
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="conversations", to="tenancy.apikey"),
                ),
                migrations.AlterField(
                    model_name="conversation",
                    name="company",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="conversations", to="tenancy.company"),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="company",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="orders", to="tenancy.company"),
                ),
            ],
        ),
    ]
