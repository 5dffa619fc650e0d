"""The native API's one error shape, ``{"error": {"code", "message", "details"}}``, and the
errors the API layer raises itself.

``api_exception_handler`` (DRF's ``EXCEPTION_HANDLER``) renders every error of a native call:
any ``ServiceError`` a service raises from its own ``code``, ``status``, message and details,
and DRF's own exceptions from ``CODES_BY_EXCEPTION``.
"""

from typing import Any

from django.core import exceptions as django_exceptions
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from studio_core.errors import ServiceError


class InvalidReference(ServiceError):
    """A reference image that cannot be used; ``field`` names it (``references[2]``, ``file``)."""

    code = "invalid_reference"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field, details={field: [message]})


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


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


def service_error_body(error: ServiceError) -> dict[str, Any]:
    """A service's refusal in the native envelope; the message names its field when it has one."""
    message = f"{error.field}: {error.message}" if error.field else error.message
    return error_body(error.code, message, error.details)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return Response(service_error_body(exc), status=exc.status, headers=exc.headers or None)
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
