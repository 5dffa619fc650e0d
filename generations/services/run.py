"""The worker's half of the generation path: call a provider, store what it returns, settle.

``generation_run`` is idempotent: it acts only on a QUEUED or RUNNING generation (RUNNING means
a redelivery after a crash), skips images of the group that are already stored, and finishes
with a conditional transition, so running it twice never stores an image twice or settles twice.
"""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Generation, OutputImage, ProviderAccount, ProviderAttempt
from ..providers import (
    AuthError,
    BadResponse,
    ProviderError,
    ProviderImage,
    ProviderImageFailure,
    ProviderRequest,
    ProviderUsage,
    RateLimited,
    ReferenceInput,
    build_adapter,
)
from ..routing import account_config, accounts_for_model
from .billing import generation_settle_credits
from .errors import ReferenceRejected
from .images import image_inspect, image_store, storage_read, thumbnail_store
from .provider_accounts import provider_account_record_outcome

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = (
    "Something went wrong on our side while making these images. Nothing was charged; "
    "please try again."
)


@dataclass
class AttemptResult:
    stored: int = 0
    image_errors: list[dict] = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    error: ProviderError | None = None


def generation_run(*, generation_id: str) -> None:
    generation = _generation_claim(generation_id=generation_id)
    if generation is None:
        return
    try:
        _generation_make_images(generation)
    except Exception:
        logger.exception("generation %s failed with an internal error", generation_id)
        ProviderAttempt.objects.filter(
            generation=generation, outcome=ProviderAttempt.Outcome.RUNNING
        ).update(
            outcome=ProviderAttempt.Outcome.FAILED,
            error_code="internal_error",
            finished_at=timezone.now(),
        )
        _generation_finish(
            generation,
            error_code="internal_error",
            error_message=INTERNAL_ERROR_MESSAGE,
        )


def _generation_claim(*, generation_id: str) -> Generation | None:
    with transaction.atomic():
        generation = Generation.objects.select_for_update().filter(id=generation_id).first()
        if generation is None:
            logger.warning("generation %s does not exist; nothing to run", generation_id)
            return None
        if generation.status == Generation.Status.QUEUED:
            generation.status = Generation.Status.RUNNING
            generation.started_at = timezone.now()
            generation.save(update_fields=["status", "started_at", "updated_at"])
        elif generation.status != Generation.Status.RUNNING:
            return None
    return generation


def _generation_make_images(generation: Generation) -> None:
    accounts = accounts_for_model(model_id=generation.model)
    if not accounts:
        _generation_finish(
            generation,
            error_code="no_provider",
            error_message=(
                f"No provider account serves {generation.model} right now. "
                "Ask staff to add or enable one (manage.py provider_account)."
            ),
        )
        return
    request = _provider_request(generation)
    tries = _tries(accounts)
    for number, account in enumerate(tries, start=1):
        attempt = ProviderAttempt.objects.create(
            generation=generation, account=account, provider_kind=account.kind
        )
        result = _attempt_run(generation=generation, attempt=attempt, request=request)
        provider_account_record_outcome(account=account, error=result.error)
        error = result.error
        same_account_next = number < len(tries) and tries[number] == account
        last_try = number == len(tries) or (same_account_next and isinstance(error, AuthError))
        if error is None or result.stored or not error.failover_safe or last_try:
            _generation_finish(
                generation,
                attempt=attempt,
                error_code=error.code if error else "",
                error_message=error.user_message if error else "",
                image_errors=result.image_errors,
            )
            return
        # The provider surely did not take this call: hand it to the next account.
        attempt.save()
        logger.info(
            "generation %s: %s failed with %s; trying the next account",
            generation.id,
            account.label,
            error.code,
        )
        if isinstance(error, RateLimited) and same_account_next and error.retry_after:
            time.sleep(min(error.retry_after, settings.PROVIDER_RETRY_AFTER_MAX_S))


def _tries(accounts: list[ProviderAccount]) -> list[ProviderAccount]:
    """The accounts to call in order, at most PROVIDER_MAX_ATTEMPTS calls in all.

    With a single account, the spare calls go to it again (a rate limit or an outage may pass).
    """
    limit = settings.PROVIDER_MAX_ATTEMPTS
    if len(accounts) == 1:
        return accounts * min(limit, 2)
    return accounts[:limit]


def _attempt_run(
    *, generation: Generation, attempt: ProviderAttempt, request: ProviderRequest
) -> AttemptResult:
    """Call the provider and store what it delivers; records the outcome on ``attempt``
    (saved by the caller together with the generation's final state)."""
    account = attempt.account
    assert account is not None
    adapter = build_adapter(account_config(account))
    already_stored = set(generation.outputs.values_list("index", flat=True))
    result = AttemptResult()
    started = time.monotonic()
    try:
        for outcome in adapter.generate(request):
            if isinstance(outcome, ProviderImage):
                if outcome.index in already_stored:
                    continue
                failure = _output_store(generation=generation, image=outcome)
                if failure is None:
                    result.stored += 1
                    already_stored.add(outcome.index)
                else:
                    result.image_errors.append(failure)
            elif isinstance(outcome, ProviderImageFailure):
                result.image_errors.append(
                    {"index": outcome.index, "code": outcome.code, "message": outcome.message}
                )
            elif isinstance(outcome, ProviderUsage):
                result.usage = {"generated_images": outcome.generated_images, **outcome.raw}
    except ProviderError as error:
        result.error = error
    attempt.latency_ms = int((time.monotonic() - started) * 1000)
    attempt.images_returned = result.stored
    attempt.usage = result.usage
    attempt.finished_at = timezone.now()
    if result.error is not None:
        attempt.outcome = ProviderAttempt.Outcome.FAILED
        attempt.error_code = result.error.code
        attempt.error_message = str(result.error)
        attempt.http_status = result.error.http_status
        attempt.provider_request_id = result.error.request_id or ""
    elif result.image_errors:
        attempt.outcome = ProviderAttempt.Outcome.PARTIAL
    else:
        attempt.outcome = ProviderAttempt.Outcome.SUCCEEDED
    return result


def _provider_request(generation: Generation) -> ProviderRequest:
    params = generation.params
    references = tuple(
        ReferenceInput(
            content=storage_read(reference.file.name), url=None, mime=f"image/{reference.format}"
        )
        for reference in generation.references.all()
    )
    return ProviderRequest(
        model=generation.model,
        prompt=generation.prompt,
        size=params["size"],
        aspect_ratio=params.get("aspect_ratio", ""),
        width=params["width"],
        height=params["height"],
        max_images=generation.num_images,
        references=references,
        seed=params.get("seed"),
        guidance_scale=params.get("guidance_scale"),
        output_format=params.get("output_format", "jpeg"),
    )


def _output_store(*, generation: Generation, image: ProviderImage) -> dict | None:
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
    try:
        with transaction.atomic():
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
    except IntegrityError:
        logger.info("generation %s image %s was already stored", generation.id, image.index)
    return None


def _delivered_count(generation: Generation) -> int:
    return OutputImage.objects.filter(generation=generation).count()


def _generation_finish(
    generation: Generation,
    *,
    attempt: ProviderAttempt | None = None,
    error_code: str = "",
    error_message: str = "",
    image_errors: list[dict] | None = None,
) -> None:
    """Move a RUNNING generation to its terminal state and settle its credits, exactly once.

    A generation with at least one stored image succeeds (the provider's error, if any, is kept
    on the attempt); one with none fails with the provider's reason in plain words.
    """
    with transaction.atomic():
        if attempt is not None:
            attempt.save()
        locked = Generation.objects.select_for_update().get(id=generation.id)
        if locked.status != Generation.Status.RUNNING:
            return
        delivered = _delivered_count(locked)
        locked.status = Generation.Status.SUCCEEDED if delivered else Generation.Status.FAILED
        if delivered:
            error_code, error_message = "", ""
        elif not error_code:
            error_code = "no_images"
            error_message = "The provider returned no images. Nothing was charged."
        locked.error_code = error_code
        locked.error_message = error_message
        locked.image_errors = image_errors or []
        locked.finished_at = timezone.now()
        locked.save(
            update_fields=[
                "status",
                "error_code",
                "error_message",
                "image_errors",
                "finished_at",
                "updated_at",
            ]
        )
        generation_settle_credits(generation=locked, delivered_images=delivered)
    generation.refresh_from_db()
