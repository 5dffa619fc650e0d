"""The one base of the errors services raise for the caller to see.

A service raises a subclass with a stable ``code``, an HTTP ``status`` and a message written
for the person who asked; each interface renders any of them in its one place: the native
API's envelope (``generations.api.errors``), OpenAI's envelope
(``generations.openai_compat.errors``) and the pages' form errors
(``generations.pages.common.form_add_service_error``). A new error needs no interface change.

It lives in ``studio_core`` because both apps raise these and ``accounts`` must not import
``generations``.
"""

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    """A request a service refuses; the caller can act on ``message``.

    ``field`` names the input at fault when there is one (an interface shows the message next
    to it); ``details`` carries machine-readable facts (numbers, per-field messages) that the
    native envelope returns as ``details``. ``status`` is the class's HTTP status; an error
    whose one refusal has two (a count or a size over its quota) passes its own.
    """

    code: str = "invalid_request"
    status: int = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.field = field
        self.details: dict[str, Any] = dict(details or {})
        # Response headers the answer carries (``Retry-After`` of a limit reached).
        self.headers: dict[str, str] = {}

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """Messages by the input they are about; empty when the error is about no one input."""
        return {self.field: [self.message]} if self.field else {}
