"""API views whose GET waits (long-poll, event stream) as a coroutine.

DRF has no async views. ``WaitingApiView`` runs DRF's own steps around an async ``get``: the
checks (authentication, permissions, throttles: counted once, as in any DRF view) and the
rendering of the answer or of an error (through the API's exception handler, so the error
shape is the usual one) run in the loop's shared thread pool through ``off_loop``; between
them the view awaits with no thread and no database connection of its own. Other methods of the
same route (DELETE on a generation) are plain DRF, run off the loop the same way.
"""

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from asgiref.sync import markcoroutinefunction
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from generations.runtime.db import off_loop, served_on_request_thread

AsyncView = Callable[..., Any]


class WaitingApiView(APIView):
    """Subclasses define ``async def get(self, request, **kwargs)``; it may raise what a DRF
    handler may raise, and must do its database work through ``off_loop``."""

    async_methods: ClassVar[frozenset[str]] = frozenset({"GET", "HEAD"})
    # For Django's View, which refuses a class mixing async and sync handlers: the view it
    # builds (``sync_view`` below) serves only the sync ones.
    view_is_async = False

    # Declared for type checkers; each subclass defines it.
    get: Callable[..., Awaitable[HttpResponseBase]]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> AsyncView:  # type: ignore[override]  # a coroutine
        sync_view = super().as_view(**initkwargs)

        async def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            # Under a sync server (WSGI, the test client) the calling thread is held by this
            # request anyway; its work is done there (see generations.runtime.db.off_loop).
            with served_on_request_thread(isinstance(request, WSGIRequest)):
                if request.method in cls.async_methods:
                    self = cls(**initkwargs)
                    self.setup(request, *args, **kwargs)
                    return await self.dispatch_async(request, *args, **kwargs)
                return await off_loop(_rendered(sync_view))(request, *args, **kwargs)

        # What Django, DRF and drf-spectacular read off a view function.
        view.cls = cls  # type: ignore[attr-defined]
        view.initkwargs = initkwargs  # type: ignore[attr-defined]
        view.csrf_exempt = True  # type: ignore[attr-defined]  # DRF checks CSRF itself
        return markcoroutinefunction(view)

    async def dispatch_async(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        """``APIView.dispatch`` with an awaited handler."""
        self.args, self.kwargs = args, kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            await off_loop(self.initial)(drf_request, *args, **kwargs)
            response = await self.get(drf_request, *args, **kwargs)
        except Exception as error:
            response = await off_loop(self.handle_exception)(error)
        return await off_loop(self._finalized)(drf_request, response, *args, **kwargs)

    def _finalized(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        # DRF finalizes any HttpResponseBase (a stream too); its stubs say Response.
        finalized = self.finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        return _plain(finalized)


def _rendered(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    def rendered(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return _plain(view(request, *args, **kwargs))

    return rendered


def _plain(response: HttpResponseBase) -> HttpResponseBase:
    """A DRF ``Response`` rendered here, in the thread pool, as a plain ``HttpResponse``:
    Django would otherwise render it on the request's own sync thread after the view."""
    if not isinstance(response, Response):
        return response
    response.render()
    plain = HttpResponse(response.content, status=response.status_code)
    for name, value in response.items():
        plain[name] = value
    return plain
