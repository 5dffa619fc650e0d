"""Default prices at 1 credit = US$0.001, near the providers' public per-image list prices.

Sources (stored public copies read 2026-11):
- seedream-4.5: US$0.04/image — BytePlus ModelArk USD price list as mirrored by a reseller
  (docs.gogogotoken.ai "Seedream models", 2026-06) and by aigateway.sh's model comparison;
  fal and OpenRouter list $0.04 too.
- seedream-5.0-lite: US$0.035/image — the same BytePlus USD price list (gogogotoken, 2026-06).
- seedream-4.0: US$0.03/image — aigateway.sh comparison of bytedance/seedream-4.0; BytePlus
  pricing key "seedream-4-0 -> 0.03 USD" in a gateway's docs (docs.dev.xavier.icvr.xyz).
- seedream-3.0-t2i: US$0.03/image — the same gateway docs ("seedream-3-0 -> 0.03 USD").
- seededit-3.0-i2i: US$0.03/image — no separate list price found; priced as Seedream 3.0, its
  generation sibling.
- dreamina-3.1: US$0.03/image — no public list price found in the material read (Scenario bills
  in its own creative units); priced as Seedream 3.0 until staff set a real number.
Staff change these in the admin; every change is audited.
"""

from django.db import migrations

DEFAULT_PRICES = [
    ("seedream-5.0-lite", 35, "BytePlus list price US$0.035/image (2026-06)"),
    ("seedream-4.5", 40, "BytePlus list price US$0.04/image (2026-06)"),
    ("seedream-4.0", 30, "BytePlus list price US$0.03/image"),
    ("seedream-3.0-t2i", 30, "BytePlus list price US$0.03/image"),
    ("seededit-3.0-i2i", 30, "No list price found; priced as Seedream 3.0"),
    ("dreamina-3.1", 30, "No list price found; priced as Seedream 3.0"),
]


def seed_prices(apps, schema_editor):
    model_price = apps.get_model("accounts", "ModelPrice")
    for model_id, credits, source in DEFAULT_PRICES:
        model_price.objects.get_or_create(
            model=model_id,
            size_tier="",
            defaults={"credits_per_image": credits, "source": source},
        )


def remove_prices(apps, schema_editor):
    model_price = apps.get_model("accounts", "ModelPrice")
    model_price.objects.filter(
        model__in=[model_id for model_id, _, _ in DEFAULT_PRICES], size_tier=""
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_keys_credits_prices_audit")]

    operations = [migrations.RunPython(seed_prices, remove_prices)]
