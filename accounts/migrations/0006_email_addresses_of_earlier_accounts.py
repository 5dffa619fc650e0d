"""Accounts made before sign-in moved to django-allauth get their address recorded as allauth
keeps it (primary, confirmed: staff entered it), so resets and address changes work for them.

An address shared by several accounts (case aside) is recorded for the earliest only: allauth
allows one account per confirmed address; the others keep it on the user row alone.
"""

from django.db import migrations


def record_addresses(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    taken = {email.lower() for email in EmailAddress.objects.values_list("email", flat=True)}
    rows = []
    for user_id, email in User.objects.exclude(email="").order_by("pk").values_list("pk", "email"):
        if email.lower() in taken or EmailAddress.objects.filter(user_id=user_id).exists():
            continue
        taken.add(email.lower())
        rows.append(EmailAddress(user_id=user_id, email=email.lower(), primary=True, verified=True))
    EmailAddress.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_invitation"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(record_addresses, migrations.RunPython.noop)]
