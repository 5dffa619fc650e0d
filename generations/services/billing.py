"""What a generation costs when it ends. A user pays only for images delivered into our storage.

The credits themselves move in ``accounts.services.credits``, called directly: the hold on
submit (``credits_hold``), and at the end either the settlement (``credits_settle``: capture
the charge, release the rest) or, when nothing is charged, ``release_hold_of_failed_generation``.
"""

from generations.models import Generation


def generation_charge(*, generation: Generation, delivered_images: int) -> int:
    """What a generation costs: the price of its delivered images, never more than its hold."""
    charged = min(delivered_images, generation.num_images) * generation.price_per_image
    return min(charged, generation.credits_held)
