

import accounts.models.budget
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0008_wallets_replace_accounts'),
        ('generations', '0013_help_texts_name_the_moved_modules'),
    ]

    operations = [
        migrations.AddField(
            model_name='apikey',
            name='allowed_models',
            field=models.JSONField(blank=True, default=list, help_text='Catalog model ids allowed (e.g. seedream-4.0); empty allows every model.'),
        ),
        migrations.AddField(
            model_name='apikey',
            name='max_images_per_request',
            field=models.PositiveSmallIntegerField(blank=True, help_text='The most images one request may ask for.', null=True),
        ),
        migrations.AddField(
            model_name='apikey',
            name='max_running',
            field=models.PositiveIntegerField(blank=True, help_text='Generations that may run at once (queued or running); empty: no limit.', null=True),
        ),
        migrations.AddField(
            model_name='apikey',
            name='max_size_tier',
            field=models.CharField(blank=True, help_text='The largest size tier allowed (1K, 2K, 3K or 4K); empty allows every size.', max_length=8),
        ),
        migrations.AddField(
            model_name='apikey',
            name='team',
            field=models.ForeignKey(blank=True, help_text='When set, every generation made with this key is charged to this team.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='api_keys', to='accounts.team'),
        ),
        migrations.AddField(
            model_name='invitation',
            name='team',
            field=models.ForeignKey(blank=True, help_text='The new account joins this team on acceptance.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='accounts.team'),
        ),
        migrations.AddField(
            model_name='invitation',
            name='team_role',
            field=models.CharField(choices=[('owner', 'Owner'), ('manager', 'Manager'), ('member', 'Member')], default='member', help_text='Its role in the team.', max_length=16),
        ),
        migrations.AddField(
            model_name='team',
            name='webhook_secret',
            field=models.CharField(blank=True, help_text='The whsec_… key its webhook deliveries are signed with (made on first need).', max_length=100),
        ),
        migrations.AddField(
            model_name='user',
            name='max_running',
            field=models.PositiveIntegerField(blank=True, help_text='Generations this user may have queued or running at once; empty: no limit.', null=True),
        ),
        migrations.CreateModel(
            name='Budget',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scope', models.CharField(choices=[('team', 'Team'), ('member', 'Member in a team'), ('key', 'API key'), ('user', 'Personal spending')], max_length=8)),
                ('limit', models.PositiveBigIntegerField(help_text='Credits that may be spent per period.')),
                ('period', models.CharField(choices=[('day', 'Daily'), ('week', 'Weekly'), ('month', 'Monthly'), ('none', 'No reset')], default='month', max_length=8)),
                ('thresholds', models.JSONField(blank=True, default=accounts.models.budget.default_thresholds, help_text='Percentages of the limit at which an alert is sent, once per period.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('api_key', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='budgets', to='accounts.apikey')),
                ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='budgets', to='accounts.team')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='budgets', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['scope', 'id'],
            },
        ),
        migrations.CreateModel(
            name='BudgetSpend',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('period_start', models.DateField(help_text='First day of the period (installation time zone).')),
                ('spent', models.BigIntegerField(default=0, help_text='Credits captured or still held.')),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('budget', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='spends', to='accounts.budget')),
            ],
            options={
                'ordering': ['-period_start'],
            },
        ),
        migrations.CreateModel(
            name='BudgetHold',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('held', models.BigIntegerField()),
                ('released', models.BigIntegerField(default=0)),
                ('generation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='budget_holds', to='generations.generation')),
                ('spend', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='holds', to='accounts.budgetspend')),
            ],
        ),
        migrations.CreateModel(
            name='BudgetAlert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('threshold', models.PositiveSmallIntegerField(help_text='Percent of the limit.')),
                ('spent', models.BigIntegerField(help_text='Spent when the threshold was crossed.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('spend', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='accounts.budgetspend')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='Membership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('manager', 'Manager'), ('member', 'Member')], default='member', max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='accounts.team')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['team', 'user__username'],
            },
        ),
        migrations.CreateModel(
            name='Allowance',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('amount', models.PositiveBigIntegerField()),
                ('period', models.CharField(choices=[('day', 'Daily'), ('week', 'Weekly'), ('month', 'Monthly'), ('none', 'No reset')], default='month', max_length=8)),
                ('policy', models.CharField(choices=[('top_up', 'Top up to the amount'), ('add', 'Add the amount')], default='add', max_length=8)),
                ('active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('last_granted_period', models.DateField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='allowances_created', to=settings.AUTH_USER_MODEL)),
                ('wallet', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='allowance', to='accounts.creditaccount')),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('period__in', ['day', 'week', 'month'])), name='allowance_period_recurs'), models.CheckConstraint(condition=models.Q(('policy__in', ['top_up', 'add'])), name='allowance_policy_valid')],
            },
        ),
        migrations.AddConstraint(
            model_name='budget',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('api_key__isnull', True), ('scope', 'team'), ('team__isnull', False), ('user__isnull', True)), models.Q(('api_key__isnull', True), ('scope', 'member'), ('team__isnull', False), ('user__isnull', False)), models.Q(('api_key__isnull', False), ('scope', 'key'), ('team__isnull', True), ('user__isnull', True)), models.Q(('api_key__isnull', True), ('scope', 'user'), ('team__isnull', True), ('user__isnull', False)), _connector='OR'), name='budget_scope_names_its_target'),
        ),
        migrations.AddConstraint(
            model_name='budget',
            constraint=models.CheckConstraint(condition=models.Q(('period__in', ['day', 'week', 'month', 'none'])), name='budget_period_valid'),
        ),
        migrations.AddConstraint(
            model_name='budget',
            constraint=models.UniqueConstraint(condition=models.Q(('scope', 'team')), fields=('team',), name='budget_one_per_team'),
        ),
        migrations.AddConstraint(
            model_name='budget',
            constraint=models.UniqueConstraint(condition=models.Q(('scope', 'member')), fields=('team', 'user'), name='budget_one_per_member'),
        ),
        migrations.AddConstraint(
            model_name='budget',
            constraint=models.UniqueConstraint(condition=models.Q(('scope', 'key')), fields=('api_key',), name='budget_one_per_key'),
        ),
        migrations.AddConstraint(
            model_name='budget',
            constraint=models.UniqueConstraint(condition=models.Q(('scope', 'user')), fields=('user',), name='budget_one_per_user'),
        ),
        migrations.AddConstraint(
            model_name='budgetspend',
            constraint=models.UniqueConstraint(fields=('budget', 'period_start'), name='budget_spend_unique'),
        ),
        migrations.AddConstraint(
            model_name='budgetspend',
            constraint=models.CheckConstraint(condition=models.Q(('spent__gte', 0)), name='budget_spend_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='budgethold',
            constraint=models.UniqueConstraint(fields=('spend', 'generation'), name='budget_hold_unique'),
        ),
        migrations.AddConstraint(
            model_name='budgethold',
            constraint=models.CheckConstraint(condition=models.Q(('released__gte', 0), ('released__lte', models.F('held'))), name='budget_hold_released_within_held'),
        ),
        migrations.AddConstraint(
            model_name='budgetalert',
            constraint=models.UniqueConstraint(fields=('spend', 'threshold'), name='budget_alert_once'),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.UniqueConstraint(fields=('team', 'user'), name='membership_unique'),
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.CheckConstraint(condition=models.Q(('role__in', ['owner', 'manager', 'member'])), name='membership_role_valid'),
        ),
    ]
