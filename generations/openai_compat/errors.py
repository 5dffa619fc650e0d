"""OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}."""

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from studio_core.errors import ServiceError

logger = logging.getLogger(__name__)

AsyncView = TypeVar("AsyncView", bound=Callable[..., Awaitable[HttpResponse]])


class OpenAIError(Exception):
    def __init__(
        self, message: str, *, http_status: int, type_: str, code: str, param: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.http_status, self.type, self.code, self.param = (
            message,
            http_status,
            type_,
            code,
            param,
        )


def openai_error_envelope(
    message: str, *, type_: str, code: str, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# Our field names as the OpenAI request spells them (``param`` names what the client sent).
PARAMS_BY_FIELD = {"num_images": "n", "reference_count": "image"}
# OpenAI's ``type`` by status; every other refusal is an ``invalid_request_error``.
TYPES_BY_STATUS: dict[int, str] = {
    status.HTTP_402_PAYMENT_REQUIRED: "insufficient_quota",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limit_exceeded",
}
# OpenAI's code for a parameter the request got wrong; other codes are ours as they are.
CODES_BY_CODE = {"invalid_request": "invalid_value"}


def service_error_envelope(error: ServiceError) -> dict[str, Any]:
    """A service's refusal in OpenAI's envelope: the message alone, the field as ``param``."""
    return openai_error_envelope(
        error.message,
        type_=TYPES_BY_STATUS.get(error.status, "invalid_request_error"),
        code=CODES_BY_CODE.get(error.code, error.code),
        param=PARAMS_BY_FIELD.get(error.field, error.field) if error.field else None,
    )


def allow_methods(*methods: str) -> Callable[[AsyncView], AsyncView]:
    """``require_http_methods`` for the async views, answering 405 in OpenAI's envelope."""

    def decorator(view: AsyncView) -> AsyncView:
        @functools.wraps(view)
        async def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in methods:
                return await view(request, *args, **kwargs)
            allowed = ", ".join(methods)
            response = JsonResponse(
                openai_error_envelope(
                    f"{request.method} is not allowed on {request.path}; use {allowed}.",
                    type_="invalid_request_error",
                    code="method_not_allowed",
                ),
                status=405,
            )
            response["Allow"] = allowed
            return response

        return cast(AsyncView, checked)

    return decorator


def openai_error_response(exc: Exception) -> JsonResponse:
    """Any exception of an OpenAI-compatible call as a response in OpenAI's envelope."""
    response = openai_exception_handler(exc, {})
    if response is None:
        logger.exception("OpenAI-compatible call failed", exc_info=exc)
        return JsonResponse(
            openai_error_envelope(
                "Something went wrong on our side.", type_="server_error", code="internal_error"
            ),
            status=500,
        )
    headers = {name: value for name, value in response.items() if name == "Retry-After"}
    return JsonResponse(response.data, status=response.status_code, headers=headers)


def openai_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OpenAIError):
        return Response(
            openai_error_envelope(exc.message, type_=exc.type, code=exc.code, param=exc.param),
            status=exc.http_status,
        )
    if isinstance(exc, ServiceError):
        return Response(service_error_envelope(exc), status=exc.status, headers=exc.headers or None)
    if isinstance(exc, MultiPartParserError):
        return Response(
            openai_error_envelope(
                f"The multipart body cannot be read ({exc}); send multipart/form-data with "
                "its boundary, as an HTTP client or OpenAI SDK builds it.",
                type_="invalid_request_error",
                code="invalid_body",
            ),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        return Response(
            openai_error_envelope(
                "The request body is larger than this endpoint accepts "
                f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes); send reference images as "
                "URLs or upload ids (POST /api/v1/uploads) instead of inline data.",
                type_="invalid_request_error",
                code="request_too_large",
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        type_, code = "authentication_error", "invalid_api_key"
    elif isinstance(exc, exceptions.Throttled):
        type_, code = "rate_limit_error", "rate_limit_exceeded"
    elif isinstance(exc, exceptions.PermissionDenied):
        type_, code = "permission_error", "permission_denied"
    elif isinstance(exc, exceptions.NotFound):
        type_, code = "invalid_request_error", "not_found"
    else:
        type_, code = "invalid_request_error", "invalid_request"
    param: str | None = None
    if isinstance(exc, exceptions.ValidationError) and isinstance(response.data, dict):
        param = next(iter(response.data), None)
        detail = response.data[param] if param else response.data
        message = str(detail[0] if isinstance(detail, list) and detail else detail)
        message = f"{param}: {message}" if param else message
    else:
        message = str(getattr(exc, "detail", exc))
    response.data = openai_error_envelope(message, type_=type_, code=code, param=param)
    return response
