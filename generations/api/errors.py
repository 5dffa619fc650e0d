"""Errors raised by the API layer itself; ``seedream_site.api_errors`` turns them into the one
error shape."""

from rest_framework import exceptions, status


class InvalidReference(Exception):
    """A reference image that cannot be used; ``field`` names it (``references[2]``, ``file``)."""

    code = "invalid_reference"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"
