"""Orders after a confirmed proposal, with a quantity; conversations owned by an API key and
findable by the digest of their history (issue 18).

Existing orders keep their meaning: quantity 1, unit price = the price they were placed at.
Existing conversations get no key; the first key of their company that continues one claims it
(assistant/conversations.py).

Safe for a rolling upgrade: pods of the previous build insert orders and conversations without
the new columns while this schema is in place, so each new column has a default in the database
(quantity 1, an empty digest) or is nullable (unit_price: NULL on such an order means quantity 1
at its price).
"""

import django.db.models.deletion
from django.db import migrations, models


def unit_price_from_price(apps, schema_editor):
    Order = apps.get_model("assistant", "Order")
    Order.objects.update(unit_price=models.F("price"))


class Migration(migrations.Migration):
    dependencies = [
        ("assistant", "0002_order_cancelled_at"),
        ("catalog", "0002_service_arabic_texts"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="quantity",
            field=models.PositiveIntegerField(db_default=1, default=1),
        ),
        migrations.AddField(
            model_name="order",
            name="unit_price",
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.RunPython(unit_price_from_price, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="order_quantity_gte_1"
            ),
        ),
        migrations.AddField(
            model_name="conversation",
            name="api_key",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="conversations",
                to="catalog.apikey",
            ),
        ),
        migrations.AddField(
            model_name="conversation",
            name="history_digest",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.AddIndex(
            model_name="conversation",
            index=models.Index(
                fields=["api_key", "history_digest"], name="assistant_c_api_key_8ccc57_idx"
            ),
        ),
        migrations.CreateModel(
            name="OrderProposal",
            fields=[
                (
                    "conversation",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="proposal",
                        serialize=False,
                        to="assistant.conversation",
                    ),
                ),
                ("quantity", models.PositiveIntegerField()),
                ("unit_price", models.DecimalField(decimal_places=2, max_digits=12)),
                ("currency", models.CharField(max_length=3)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "service",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="catalog.service",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(quantity__gte=1), name="proposal_quantity_gte_1"
                    )
                ],
            },
        ),
    ]
