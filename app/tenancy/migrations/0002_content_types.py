# Admin history and permissions refer to models through content types: relabel the two moved
# models' content types, so their permissions (and the admin log's links) follow them.

from django.db import migrations


def relabel(apps, schema_editor, source="catalog", target="tenancy"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in ("company", "apikey"):
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            continue
        ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def unlabel(apps, schema_editor):
    relabel(apps, schema_editor, source="tenancy", target="catalog")


class Migration(migrations.Migration):

    dependencies = [
        ("tenancy", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(relabel, unlabel)]
