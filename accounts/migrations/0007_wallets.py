"""Wallets: a credit account gets its own id, so a team can own one in the same ledger.

Until now an account's key was its user's id, and every ledger entry pointed at it by that id.
The wallets keep those numbers as their ids (the sequence then continues after the largest), so
each entry is pointed at the same balance. The next migration drops the old accounts.
"""

import django.db.models.deletion
from django.conf import settings
from django.core.management.color import no_style
from django.db import migrations, models
from django.db.models import F


def copy_accounts_to_wallets(apps, schema_editor):
    CreditAccount = apps.get_model("accounts", "CreditAccount")
    Wallet = apps.get_model("accounts", "Wallet")
    Wallet.objects.bulk_create(
        (
            Wallet(id=account.user_id, user_id=account.user_id, available=account.available,
                   held=account.held)
            for account in CreditAccount.objects.all().iterator()
        ),
        batch_size=1000,
    )
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Wallet]):
            cursor.execute(sql)


def point_entries_at_wallets(apps, schema_editor):
    CreditEntry = apps.get_model("accounts", "CreditEntry")
    CreditEntry.objects.update(wallet_id=F("account_id"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_email_addresses_of_earlier_accounts"),
    ]

    operations = [
        migrations.CreateModel(
            name='Team',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('allowed_models', models.JSONField(blank=True, default=list, help_text='Catalog model ids allowed (e.g. seedream-4.0); empty allows every model.')),
                ('max_size_tier', models.CharField(blank=True, help_text='The largest size tier allowed (1K, 2K, 3K or 4K); empty allows every size.', max_length=8)),
                ('max_images_per_request', models.PositiveSmallIntegerField(blank=True, help_text='The most images one request may ask for.', null=True)),
                ('max_running', models.PositiveIntegerField(blank=True, help_text='Generations that may run at once (queued or running); empty: no limit.', null=True)),
                ('name', models.CharField(max_length=100)),
                ('slug', models.SlugField(unique=True)),
                ('webhook_url', models.URLField(blank=True, help_text='Signed budget.threshold events are posted here when a budget alert fires.', max_length=2000)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.CreateModel(
            name="Wallet",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("available", models.BigIntegerField(default=0)),
                ("held", models.BigIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "user",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.team",
                    ),
                ),
            ],
            options={"verbose_name": "wallet"},
        ),
        migrations.RunPython(copy_accounts_to_wallets, migrations.RunPython.noop),
        migrations.AddField(
            model_name="creditentry",
            name="wallet",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.wallet",
            ),
        ),
        migrations.RunPython(point_entries_at_wallets, migrations.RunPython.noop),
    ]
