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


class UploadQuotaExceeded(Exception):
    """Too many unused uploads (``too_many``) or too many bytes of them: the message has the
    numbers and what to do."""

    code = "upload_quota_exceeded"

    def __init__(self, message: str, *, too_many: bool, details: dict[str, int]) -> None:
        self.too_many = too_many
        self.details = details
        super().__init__(message)
