class IdempotencyConflict(Exception):
    """The idempotency key was already used for a different request."""

    code = "idempotency_conflict"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"The idempotency key {key!r} was already used with a different request; "
            "send a new key for a new request."
        )


class ReferenceRejected(ValueError):
    """A reference image cannot be used; the message says why and what to send instead."""

    code = "invalid_reference"
