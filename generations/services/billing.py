"""Where a generation's credits move: the hold on submit and the settlement at the end.

The credit ledger itself lives in ``accounts``; these two functions are the only places the
generation path touches it.
"""

from ..models import Generation


def generation_hold_credits(*, generation: Generation) -> None:
    """Hold the quote for every image the generation may deliver (inside the submit transaction)."""


def generation_settle_credits(*, generation: Generation, delivered_images: int) -> None:
    """Capture the price of delivered images, release the rest (inside the finish transaction)."""
