"""Model names OpenAI-style clients send, mapped to catalog ids: our ids, each provider's ids
(Ark/BytePlus, Replicate, Siraya, Ace) and a few common spellings.

Beside the catalog rather than in an interface: the table joins the catalog with the
providers' model tables, which only the domain below the interfaces reads.
"""

from functools import cache

from generations.catalog import list_models
from generations.providers.ark import ARK_MODELS
from generations.providers.replicate import REPLICATE_MODELS
from generations.providers.siraya import SIRAYA_MODELS


@cache
def model_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for model in list_models():
        aliases[model.id] = model.id
        aliases[model.label] = model.id
    for catalog_id, ark in ARK_MODELS.items():
        aliases[ark.volcengine_id] = catalog_id
        aliases[ark.byteplus_id] = catalog_id
    for table in (REPLICATE_MODELS, SIRAYA_MODELS):
        for catalog_id, provider_id in table.items():
            aliases[provider_id] = catalog_id
    # The spelling several gateways use, e.g. "ByteDance-Seedream-4.0" for every model.
    for model in list_models():
        aliases[f"ByteDance-{model.label.replace(' ', '-')}"] = model.id
    return {name.lower(): catalog_id for name, catalog_id in aliases.items()}


def catalog_id_for(name: str) -> str | None:
    return model_aliases().get(name.strip().lower())
