"""The native API's one error shape: ``{"error": {"code", "message", "details"}}``."""

from typing import Any

from django.core import exceptions as django_exceptions
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from accounts.services.credits import InsufficientCredits
from generations.api.errors import InvalidReference, RequestTooLarge
from generations.catalog import SpecError
from generations.services import GenerationNotCancelable, IdempotencyConflict
from generations.services.errors import UploadQuotaExceeded
from generations.services.lifecycle import GenerationNotDeletable

# Looked up against the exception as raised: DRF turns Django's Http404 and PermissionDenied
# into its own before answering, so those are listed too.
CODES_BY_EXCEPTION: dict[type[Exception], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    django_exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    Http404: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.Throttled: "rate_limited",
    exceptions.ValidationError: "invalid_request",
    exceptions.ParseError: "invalid_request",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.NotAcceptable: "not_acceptable",
    RequestTooLarge: "request_too_large",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SpecError):
        return Response(
            error_body("invalid_request", _first_message(exc.errors), exc.errors),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, InsufficientCredits):
        return Response(
            error_body(
                exc.code,
                str(exc),
                {"needed": exc.needed, "available": exc.available, "shortfall": exc.shortfall},
            ),
            status=status.HTTP_402_PAYMENT_REQUIRED,
        )
    if isinstance(exc, IdempotencyConflict | GenerationNotCancelable | GenerationNotDeletable):
        return Response(error_body(exc.code, str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, UploadQuotaExceeded):
        return Response(
            error_body(exc.code, str(exc), exc.details),
            status=status.HTTP_429_TOO_MANY_REQUESTS
            if exc.too_many
            else status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, InvalidReference):
        return Response(
            error_body(exc.code, str(exc), {exc.field: [exc.message]}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next(
        (name for kind, name in CODES_BY_EXCEPTION.items() if isinstance(exc, kind)), "error"
    )
    details = response.data if isinstance(exc, exceptions.ValidationError) else {}
    message = (
        _first_message(response.data)
        if isinstance(exc, exceptions.ValidationError)
        else str(getattr(exc, "detail", exc))
    )
    response.data = error_body(code, message, details)
    return response


def _first_message(errors: Any) -> str:
    if isinstance(errors, dict):
        for field, messages in errors.items():
            first = _first_message(messages)
            return first if field in ("non_field_errors", "__all__") else f"{field}: {first}"
    if isinstance(errors, list | tuple) and errors:
        return _first_message(errors[0])
    return str(errors)
