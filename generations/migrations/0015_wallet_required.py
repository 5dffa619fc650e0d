import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_teams_budgets"),
        ("generations", "0014_teams_wallets"),
    ]

    operations = [
        migrations.AlterField(
            model_name="generation",
            name="wallet",
            field=models.ForeignKey(
                help_text="The wallet it is charged to: the owner's own or one of their teams'.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="generations",
                to="accounts.creditaccount",
            ),
        ),
    ]
