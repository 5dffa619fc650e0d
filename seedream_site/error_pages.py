"""The answers for 400, 403, 404, 413 and 500 outside a view's own handling, in each
interface's shape.

Under ``/api/`` the native JSON envelope, under ``/v1/`` OpenAI's, elsewhere a page in the
workspace's look with a way back. Django calls these for URLs nothing matches (an unknown path,
an id that is not a UUID), for ``Http404``/``PermissionDenied`` raised by a page, for a body
Django refuses while reading it, and for an uncaught exception.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from generations.api.errors import error_body
from generations.openai_compat.errors import openai_error_envelope

PAGES = {
    400: ("Bad request", "The request could not be read. Go back and try again."),
    413: (
        "Request too large",
        "The request is larger than this address accepts. Send fewer or smaller files.",
    ),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Page not found", "There is nothing at this address. It may have been deleted."),
    500: (
        "Something went wrong",
        "Something went wrong on our side. Nothing you sent was lost; please try again.",
    ),
}
CODES = {
    400: "invalid_request",
    403: "permission_denied",
    404: "not_found",
    413: "request_too_large",
    500: "internal_error",
}


def error_answer(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    title, message = PAGES[status][0], message or PAGES[status][1]
    if request.path.startswith("/api/"):
        if status == 404:
            message = (
                f"No such endpoint or object: {request.method} {request.path}. "
                "The API is described at /api/docs/."
            )
        return JsonResponse(error_body(CODES[status], message), status=status)
    if request.path.startswith("/v1/"):
        type_ = "server_error" if status == 500 else "invalid_request_error"
        return JsonResponse(
            openai_error_envelope(message, type_=type_, code=CODES[status]), status=status
        )
    if status == 500:
        # The database may be what failed: the page is drawn without the request's context (no
        # session, user or balance query), and as plain text if even that fails.
        try:
            page = render_to_string("errors/error.html", {"title": title, "message": message})
            return HttpResponse(page, status=500)
        except Exception:
            return HttpResponse(f"{title}. {message}", content_type="text/plain", status=500)
    return render(request, "errors/error.html", {"title": title, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A body Django itself refuses while reading it (``SuspiciousOperation``): over
    DATA_UPLOAD_MAX_MEMORY_SIZE (413), too many fields or files, a malformed multipart body."""
    if isinstance(exception, RequestDataTooBig):
        return error_answer(request, 413)
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return error_answer(
            request,
            400,
            "The request has more fields or files than accepted "
            f"(at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields and "
            f"{settings.DATA_UPLOAD_MAX_NUMBER_FILES} files).",
        )
    return error_answer(request, 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_answer(request, 403)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_answer(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_answer(request, 500)
