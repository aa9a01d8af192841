# The second half of the move to tenancy (see tenancy/0001_initial): state only, no SQL.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0002_service_arabic_texts"),
        ("tenancy", "0001_initial"),
        ("assistant", "0004_foreign_keys_to_tenancy"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="service",
                    name="company",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="services", to="tenancy.company"),
                ),
                migrations.DeleteModel(name="ApiKey"),
                migrations.DeleteModel(name="Company"),
            ],
        ),
    ]
