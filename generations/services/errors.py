from studio_core.errors import ServiceError


class IdempotencyConflict(ServiceError):
    """The idempotency key was already used for a different request."""

    code = "idempotency_conflict"
    status = 409

    def __init__(self, key: str) -> None:
        super().__init__(
            f"The idempotency key {key!r} was already used with a different request; "
            "send a new key for a new request."
        )


class ReferenceRejected(ServiceError, ValueError):
    """A reference image cannot be used; the message says why and what to send instead."""

    code = "invalid_reference"


class UploadQuotaExceeded(ServiceError):
    """Too many unused uploads (``too_many``, 429) or too many bytes of them (413): the message
    has the numbers and what to do."""

    code = "upload_quota_exceeded"

    def __init__(self, message: str, *, too_many: bool, details: dict[str, int]) -> None:
        super().__init__(message, details=details, status=429 if too_many else 413)
        self.too_many = too_many
