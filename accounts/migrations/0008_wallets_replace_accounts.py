"""Wallets replace the credit accounts keyed by user (see 0007): entries point at wallets."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_wallets"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="creditentry", name="accounts_cr_account_72847d_idx"),
        migrations.RemoveField(model_name="creditentry", name="account"),
        migrations.RenameField(model_name="creditentry", old_name="wallet", new_name="account"),
        migrations.AlterField(
            model_name="creditentry",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="accounts.wallet",
            ),
        ),
        migrations.DeleteModel(name="CreditAccount"),
        migrations.RenameModel(old_name="Wallet", new_name="CreditAccount"),
        migrations.AlterField(
            model_name="creditaccount",
            name="user",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credit_account",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="creditaccount",
            name="team",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="wallet",
                to="accounts.team",
            ),
        ),
        migrations.AddIndex(
            model_name="creditentry",
            index=models.Index(
                fields=["account", "-created_at"], name="accounts_cr_account_72847d_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("available__gte", 0)), name="wallet_available_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("held__gte", 0)), name="wallet_held_not_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("team__isnull", True), ("user__isnull", False)),
                    models.Q(("team__isnull", False), ("user__isnull", True)),
                    _connector="OR",
                ),
                name="wallet_has_one_owner",
            ),
        ),
    ]
