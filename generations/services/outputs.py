"""Storing what a provider call delivers: each image with its thumbnail, exactly once."""

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from generations.messaging.notifications import notify_progress
from generations.models import Generation, OutputImage, ProviderAttempt
from generations.providers import (
    BadResponse,
    ProviderError,
    ProviderImage,
    ProviderImageFailure,
    ProviderOutcome,
    ProviderUsage,
)
from generations.runtime.db import after_commit, db_release
from generations.services.errors import ReferenceRejected
from generations.services.images import image_inspect, image_store, thumbnail_store

logger = logging.getLogger(__name__)


@dataclass
class AttemptResult:
    stored: int = 0
    image_errors: list[dict] = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    error: ProviderError | None = None


class OutcomeConsumer:
    """One attempt's outcomes taken one at a time: each image stored as it arrives, each
    failure and the usage noted; ``finish`` records the attempt (not saved here: the caller
    saves it with the generation's next state). A provider call on the worker's event loop
    hands its outcomes over one by one (``services.run``); ``outcomes_consume`` reads them
    from an iterator in the caller's thread."""

    def __init__(
        self,
        *,
        generation: Generation,
        attempt: ProviderAttempt,
        started: float | None = None,
        nothing_stored: bool = False,
    ) -> None:
        """``nothing_stored``: the caller knows the generation has no image yet (its first
        run), so the images already stored need not be read."""
        self.generation, self.attempt = generation, attempt
        self.started = time.monotonic() if started is None else started
        self.already_stored: set[int] = (
            set() if nothing_stored else set(generation.outputs.values_list("index", flat=True))
        )
        self.result = AttemptResult()

    def take(self, outcome: ProviderOutcome) -> None:
        result = self.result
        if isinstance(outcome, ProviderImage):
            if outcome.index in self.already_stored or outcome.index >= self.generation.num_images:
                return
            failure = output_store(generation=self.generation, image=outcome)
            if failure is None:
                result.stored += 1
                self.already_stored.add(outcome.index)
            else:
                result.image_errors.append(failure)
        elif isinstance(outcome, ProviderImageFailure):
            result.image_errors.append(
                {"index": outcome.index, "code": outcome.code, "message": outcome.message}
            )
        elif isinstance(outcome, ProviderUsage):
            result.usage = {"generated_images": outcome.generated_images, **outcome.raw}

    def fail(self, error: ProviderError) -> None:
        """The call ended with ``error``; what was stored so far stands."""
        self.result.error = error

    def finish(self) -> AttemptResult:
        attempt_record(attempt=self.attempt, result=self.result, started=self.started)
        return self.result


def outcomes_consume(
    *,
    generation: Generation,
    attempt: ProviderAttempt,
    outcomes: Iterable[ProviderOutcome],
    started: float | None = None,
    nothing_stored: bool = False,
) -> AttemptResult:
    """Store each image as it arrives and record the attempt's outcome on ``attempt``.

    ``outcomes`` may be a live generator (a streaming provider): a ``ProviderError`` it raises
    midway ends the attempt with what was stored so far. The attempt is not saved here; the
    caller saves it with the generation's next state.
    """
    consumer = OutcomeConsumer(
        generation=generation, attempt=attempt, started=started, nothing_stored=nothing_stored
    )
    pending = iter(outcomes)
    try:
        while True:
            db_release()  # the next outcome may be a slow provider call or download away
            outcome = next(pending, None)
            if outcome is None:
                break
            consumer.take(outcome)
    except ProviderError as error:
        consumer.fail(error)
    return consumer.finish()


def attempt_record(*, attempt: ProviderAttempt, result: AttemptResult, started: float) -> None:
    attempt.latency_ms = int((time.monotonic() - started) * 1000)
    attempt.images_returned = result.stored
    attempt.usage = result.usage
    attempt.finished_at = timezone.now()
    if result.error is not None:
        attempt.outcome = ProviderAttempt.Outcome.FAILED
        attempt.error_code = result.error.code
        attempt.error_message = str(result.error)
        attempt.http_status = result.error.http_status
        attempt.provider_request_id = attempt.provider_request_id or result.error.request_id or ""
    elif result.image_errors:
        attempt.outcome = ProviderAttempt.Outcome.PARTIAL
    else:
        attempt.outcome = ProviderAttempt.Outcome.SUCCEEDED


def output_store(*, generation: Generation, image: ProviderImage) -> dict | None:
    """Store one provider image with its thumbnail; returns a per-image error instead of raising."""
    try:
        if image.content is None:
            raise BadResponse(message="the adapter handed on an image without its bytes")
        content = image.content
        facts = image_inspect(content)
    except (ProviderError, ReferenceRejected) as error:
        logger.warning("generation %s image %s not stored: %s", generation.id, image.index, error)
        return {"index": image.index, "code": "image_unreadable", "message": str(error)}
    stored = image_store(content=content, folder="outputs", facts=facts)
    thumbnail_name = thumbnail_store(content=content, source_sha256=facts.sha256)
    # A savepoint only inside a caller's transaction (which the duplicate would break); on its
    # own the INSERT commits by itself, and a duplicate leaves the connection usable.
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            OutputImage.objects.create(
                generation=generation,
                index=image.index,
                file=stored.name,
                thumbnail=thumbnail_name,
                sha256=facts.sha256,
                width=facts.width,
                height=facts.height,
                format=facts.format,
                bytes=facts.bytes,
                provider_url=image.url or "",
            )
        after_commit(notify_progress, str(generation.id))
    except IntegrityError:
        logger.info("generation %s image %s was already stored", generation.id, image.index)
    return None


def delivered_count(generation: Generation) -> int:
    return OutputImage.objects.filter(generation=generation).count()
