"""Helpers of the native API tests: clients authenticated with a key, generations in a state."""

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.keys import api_key_create
from generations.catalog import GenerationSpec
from generations.models import Generation
from generations.services import generation_submit


def key_client(user: User) -> APIClient:
    """A client sending a fresh API key of ``user`` as ``Authorization: Bearer``."""
    issued = api_key_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    return client


def streamed(response: StreamingHttpResponse) -> bytes:
    """The whole body of a streaming answer; the event stream's is an async iterator, read the
    way the ASGI server reads it."""

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    if response.is_async:
        return async_to_sync(read)()
    return b"".join(response.streaming_content)


MakeGeneration = Callable[..., Generation]


@pytest.fixture
def make_generation(local_account, django_capture_on_commit_callbacks) -> MakeGeneration:
    """``make_generation(owner, finished=True, visibility="private", **spec_fields)``.

    Finished: run inline on the local demo provider (SUCCEEDED with stored outputs).
    Not finished: left QUEUED with its credits held, as a request waiting for a worker.
    """

    def make(
        owner: User,
        *,
        finished: bool = True,
        visibility: str = Generation.Visibility.PRIVATE,
        **spec_fields: Any,
    ) -> Generation:
        fields = {"model": "seedream-4.0", "prompt": "a lighthouse at dawn", "size": "1K"}
        fields.update(spec_fields)
        spec = GenerationSpec(**fields)
        if not finished:
            return generation_submit(user=owner, spec=spec, visibility=visibility)
        with django_capture_on_commit_callbacks(execute=True):
            generation = generation_submit(user=owner, spec=spec, visibility=visibility)
        generation.refresh_from_db()
        return generation

    return make
