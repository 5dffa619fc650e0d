"""The provider error tree: the only exceptions retry, failover and settlement code reads.

Every whole-call failure an adapter reports is a `ProviderError` subclass with a stable string
`code` (stored on the generation, shown in API error bodies) and a `failover_safe` flag. The flag
answers one question: may the same paid request be sent to another provider account without
risking that the user's images are generated (and billed by the provider) twice? It is True only
where the provider surely did not accept the call.

One image of a group failing is not an exception: adapters yield `ProviderImageFailure` for it.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict, Unpack

__all__ = [
    "AuthError",
    "BadRequest",
    "BadResponse",
    "ContentRefused",
    "ProviderError",
    "ProviderTimeout",
    "QuotaError",
    "RateLimited",
    "Unavailable",
    "unserved_request",
]


class ErrorFields(TypedDict, total=False):
    """What every `ProviderError` takes, for subclasses that take more."""

    message: str
    code: str | None
    http_status: int | None
    provider_code: str | None
    request_id: str | None


def _rebuild_error(cls: type[ProviderError], state: dict[str, Any]) -> ProviderError:
    """Unpickle helper: keyword-only constructors defeat `Exception`'s default pickling."""
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class ProviderError(Exception):
    """A provider call failed as a whole.

    `message` is for operators and logs (it may quote the provider); `user_message` is what a
    person who asked for images is shown. Neither ever contains credentials.
    """

    code: str = "provider_error"
    failover_safe: bool = False
    default_message: ClassVar[str] = "The image provider could not complete the request."

    def __init__(
        self,
        *,
        message: str = "",
        code: str | None = None,
        http_status: int | None = None,
        provider_code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        if code is not None:
            self.code = code
        self.http_status = http_status
        self.provider_code = provider_code
        self.request_id = request_id

    @property
    def user_message(self) -> str:
        return self.default_message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._repr_fields())})"

    def _repr_fields(self) -> list[str]:
        fields = [f"code={self.code!r}", f"message={self.message!r}"]
        if self.http_status is not None:
            fields.append(f"http_status={self.http_status}")
        if self.provider_code is not None:
            fields.append(f"provider_code={self.provider_code!r}")
        if self.request_id is not None:
            fields.append(f"request_id={self.request_id!r}")
        fields.append(f"failover_safe={self.failover_safe}")
        return fields

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (type(self), dict(self.__dict__)))


class BadRequest(ProviderError):
    """The provider rejected the request itself (parameters, unknown model). Never retried."""

    code = "bad_request"
    failover_safe = False
    default_message = "The image provider rejected the request."

    @property
    def user_message(self) -> str:
        # Provider validation messages name the offending field, which is what the user needs.
        if self.message and self.message != self.default_message:
            return f"The image provider rejected the request: {self.message}"
        return self.default_message


class ContentRefused(BadRequest):
    """A content filter refused the prompt or a reference image."""

    code = "content_refused"
    default_message = (
        "The provider's content filter refused this request. "
        "Change the prompt or reference images and try again."
    )

    @property
    def user_message(self) -> str:
        return self.default_message


class AuthError(ProviderError):
    """The provider rejected our credentials; another account may still serve the call."""

    code = "auth_failed"
    failover_safe = True
    default_message = (
        "The image provider rejected this site's credentials. Please tell an administrator."
    )


class QuotaError(ProviderError):
    """The provider account is out of balance or quota (or the model is not enabled on it)."""

    code = "quota_exhausted"
    failover_safe = True
    default_message = (
        "The image provider account has run out of quota. Please tell an administrator."
    )


class RateLimited(ProviderError):
    """The provider throttled us; `retry_after` is its hint in seconds, when it gave one."""

    code = "rate_limited"
    failover_safe = True
    default_message = "The image provider is busy right now. Please try again in a moment."

    def __init__(self, *, retry_after: float | None = None, **fields: Unpack[ErrorFields]) -> None:
        super().__init__(**fields)
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        if self.retry_after is not None and self.retry_after > 0:
            seconds = max(1, round(self.retry_after))
            return f"The image provider is busy right now. Please try again in {seconds} s."
        return self.default_message

    def _repr_fields(self) -> list[str]:
        return [*super()._repr_fields(), f"retry_after={self.retry_after!r}"]


class _AcceptanceAware(ProviderError):
    """A failure where whether the provider accepted the call depends on when it happened.

    `before_accepted=True` says the request surely never reached a state the provider bills
    (connect refused, connect timeout), which makes re-sending it elsewhere safe.
    """

    accepted_by_default: ClassVar[bool]

    def __init__(
        self, *, before_accepted: bool | None = None, **fields: Unpack[ErrorFields]
    ) -> None:
        super().__init__(**fields)
        if before_accepted is not None:
            self.failover_safe = before_accepted


class Unavailable(_AcceptanceAware):
    """The provider is down: a 5xx answer or a failed connection.

    Failover-safe by default (a 5xx means the provider did not do the work); pass
    `before_accepted=False` when the connection broke after the request was sent.
    """

    code = "provider_unavailable"
    failover_safe = True
    default_message = "The image provider is temporarily unavailable. Please try again later."


class ProviderTimeout(_AcceptanceAware):
    """No answer in time.

    Not failover-safe by default: a read timeout leaves the paid call possibly accepted and
    running at the provider. Pass `before_accepted=True` for connect/pool timeouts.
    """

    code = "provider_timeout"
    failover_safe = False
    default_message = "The image provider took too long to answer. Please try again later."


class BadResponse(ProviderError):
    """The provider answered with something we cannot read (malformed JSON, missing fields).

    Not failover-safe: the provider answered, so it may well have accepted and billed the call.
    """

    code = "bad_response"
    failover_safe = False
    default_message = "The image provider sent a reply that could not be understood."


def unserved_request(message: str) -> BadRequest:
    """A request the catalog allows but this provider does not serve (a size tier only some
    providers offer), refused before any call: nothing was sent, so another account may take it.
    """
    error = BadRequest(message=message)
    error.failover_safe = True
    return error


def _error_classes(base: type[ProviderError] = ProviderError) -> list[type[ProviderError]]:
    found = [base]
    for subclass in base.__subclasses__():
        found += _error_classes(subclass)
    return found


_BY_CODE = {kind.code: kind for kind in _error_classes() if not kind.__name__.startswith("_")}


def reason_for_teammates(*, code: str, message: str) -> str:
    """What a teammate is told of a failed call: the plain words of its error class (a
    provider's field message for a rejected request), never a raw transport error; a failure
    of ours (worker lost, canceled) already says itself in plain words."""
    kind = _BY_CODE.get(code)
    if kind is None:
        return message
    return kind(message=message).user_message
