"""Teams: a generation records the wallet it is charged to and the team it is shared with;
boards can be shared with a team. Every earlier generation was charged to its owner's wallet."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def charge_earlier_generations_to_owners(apps, schema_editor):
    Generation = apps.get_model("generations", "Generation")
    CreditAccount = apps.get_model("accounts", "CreditAccount")
    owners = Generation.objects.values_list("owner_id", flat=True).distinct()
    have = set(CreditAccount.objects.filter(user_id__isnull=False).values_list("user_id", flat=True))
    CreditAccount.objects.bulk_create(
        [CreditAccount(user_id=owner_id) for owner_id in set(owners) - have], batch_size=1000
    )
    wallets = CreditAccount.objects.filter(user_id=OuterRef("owner_id")).values("id")[:1]
    Generation.objects.filter(wallet__isnull=True).update(wallet_id=Subquery(wallets))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0009_teams_budgets'),
        ('generations', '0013_help_texts_name_the_moved_modules'),
    ]

    operations = [
        migrations.AddField(
            model_name='board',
            name='team',
            field=models.ForeignKey(blank=True, help_text='With team visibility: the team it is shared with; empty: everyone here.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='boards', to='accounts.team'),
        ),
        migrations.AddField(
            model_name='generation',
            name='shared_team',
            field=models.ForeignKey(blank=True, help_text='With team visibility: the team that sees it; empty: everyone here.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='shared_generations', to='accounts.team'),
        ),
        migrations.AddField(
            model_name='generation',
            name='wallet',
            field=models.ForeignKey(help_text="The wallet it is charged to: the owner's own or one of their teams'.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='generations', to='accounts.creditaccount'),
        ),
        migrations.RunPython(charge_earlier_generations_to_owners, migrations.RunPython.noop),
    ]
