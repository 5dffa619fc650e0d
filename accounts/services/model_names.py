"""The names people know the catalog's models by ("Seedream 4.5" for ``seedream-4.5``).

``accounts`` does not import ``generations``: the app that owns the catalog registers the names
when it is ready (``register_model_names``), as it does the priceable models. Messages written
here (a policy refusal, a missing price) then name a model the way the pages do.
"""

from collections.abc import Iterable

_model_names: dict[str, str] = {}


def register_model_names(names: Iterable[tuple[str, str]]) -> None:
    """Replace the registered (model id, name) pairs."""
    _model_names.clear()
    _model_names.update(names)


def model_name(model_id: str) -> str:
    """The model's name, or its id when none is registered (an id the catalog no longer has)."""
    return _model_names.get(model_id, model_id)
