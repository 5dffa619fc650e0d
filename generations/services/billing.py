"""Where a generation's credits move: the hold on submit and the settlement at the end.

The ledger lives in ``accounts.services.credits``; these functions are the only places the
generation path touches it. A user pays only for images delivered into our storage.
"""

from accounts.services.credits import credits_hold, credits_release, credits_settle

from ..models import Generation


def generation_hold_credits(*, generation: Generation) -> None:
    """Hold the price of every image the generation may deliver (inside the submit transaction).

    Raises ``InsufficientCredits`` when the owner cannot afford it, which rolls back the submit.
    """
    credits_hold(user=generation.owner, amount=generation.credits_held, generation=generation)


def generation_charge(*, generation: Generation, delivered_images: int) -> int:
    """What a generation costs: the price of its delivered images, never more than its hold."""
    charged = min(delivered_images, generation.num_images) * generation.price_per_image
    return min(charged, generation.credits_held)


def generation_settle_credits(*, generation: Generation, charged: int) -> None:
    """Capture ``charged`` and release the rest of the hold. Called last in the finish
    transaction, so the owner's balance row stays locked only until the commit right after."""
    credits_settle(user_id=generation.owner_id, generation=generation, charged=charged)


def generation_release_credits(*, generation: Generation) -> None:
    """Return the whole hold (cancellation before anything was charged)."""
    credits_release(user=generation.owner, amount=generation.credits_held, generation=generation)
