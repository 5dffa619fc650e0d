"""WhiteNoise, able to stay on the event loop under the ASGI server.

WhiteNoise's middleware is synchronous only. Anywhere in ``MIDDLEWARE`` it would make Django
run every request through a thread, and an async view (the OpenAI-compatible calls, which wait
for their images) would then hold that thread for its whole wait. This subclass answers static
files as WhiteNoise does and passes everything else straight to the async chain.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, settings=None):  # type: ignore[no-untyped-def]
        if settings is None:
            super().__init__(get_response)
        else:
            super().__init__(get_response, settings=settings)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):  # type: ignore[no-untyped-def]
        if self.is_async:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        static_file = (
            self.find_file(request.path_info)
            if self.autorefresh
            else self.files.get(request.path_info)
        )
        if static_file is not None:
            # Opening and stat-ing the file touch the disk: off the event loop.
            return await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        return await self.get_response(request)
