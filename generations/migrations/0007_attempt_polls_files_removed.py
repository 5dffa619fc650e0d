from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("generations", "0006_webhooks")]

    operations = [
        migrations.AddField(
            model_name="providerattempt",
            name="polls",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Polls of the job so far; a duplicate poll task finds it moved on.",
            ),
        ),
        migrations.AddField(
            model_name="generation",
            name="files_removed_at",
            field=models.DateTimeField(
                blank=True, help_text="When a deleted generation's files left storage.", null=True
            ),
        ),
    ]
