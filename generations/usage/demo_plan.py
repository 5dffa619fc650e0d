"""What ``seed_demo_data`` writes, decided up front from a seeded random generator.

Plain data only (no model instances), so the writer can stream 100,000 generations into the
database in batches. The shapes follow the generation path: a hold when a generation is
accepted, provider attempts with failover on rate limits and server errors, then a capture for
the delivered images and a release of the rest; canceled and failed generations capture nothing.
A few attempts report more images than were delivered, so reconciliation has gaps to find.
"""

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Model id -> (share of requests, typical seconds per call, provider kinds that serve it, in
# router order). Shares are rough guesses at a team's habits, not measurements.
MODEL_MIX: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "seedream-4.0": (0.30, 12.0, ("ark", "byteplus", "replicate")),
    "seedream-4.5": (0.25, 18.0, ("byteplus", "ark", "fal")),
    "seedream-5.0-lite": (0.20, 15.0, ("ark", "byteplus")),
    "seedream-3.0-t2i": (0.10, 6.0, ("ark", "replicate")),
    "seededit-3.0-i2i": (0.08, 9.0, ("ark", "fal")),
    "dreamina-3.1": (0.07, 14.0, ("scenario", "ark")),
}
# Providers whose usage object also counts output tokens (Ark's API does; the hosts don't).
TOKEN_REPORTING_KINDS = frozenset({"ark", "byteplus"})
# (error code, HTTP status, seconds the failed call took)
FAILOVER_ERRORS = (
    ("rate_limited", 429, 0.4),
    ("rate_limited", 429, 0.4),
    ("rate_limited", 429, 0.4),
    ("server_error", 502, 2.5),
    ("timeout", None, 120.0),
)
FINAL_ERRORS = (
    ("content_rejected", 400, 1.2),
    ("server_error", 500, 2.0),
    ("rate_limited", 429, 0.4),
    ("timeout", None, 120.0),
)
SUBJECTS = (
    "a lighthouse on a basalt cliff",
    "a ceramic teapot shaped like a whale",
    "a night market in the rain",
    "an astronaut tending a greenhouse",
    "a fox reading by candlelight",
    "a brutalist library in the snow",
    "a koi pond seen from above",
    "a vintage racing car",
    "a bowl of ramen, studio lighting",
    "a mountain village at dawn",
)
STYLES = (
    "watercolor",
    "isometric 3D render",
    "35mm film photo",
    "ink wash painting",
    "product shot on white",
    "cinematic, golden hour",
)
SIZES = {"1K": (1024, 1024), "2K": (2048, 2048), "3K": (3072, 3072)}


@dataclass(slots=True)
class PlannedAttempt:
    kind: str
    outcome: str
    started_at: datetime
    finished_at: datetime
    images_returned: int = 0
    usage: dict[str, Any] = field(default_factory=dict)
    error_code: str = ""
    http_status: int | None = None
    request_id: str = ""


@dataclass(slots=True)
class PlannedGeneration:
    id: uuid.UUID
    owner: int  # index into the demo users
    api_key: int | None  # index into that user's keys; None for the browser
    model: str
    prompt: str
    num_images: int
    size: str
    status: str
    created_at: datetime
    finished_at: datetime
    started_at: datetime | None = None
    delivered: int = 0
    error_code: str = ""
    attempts: list[PlannedAttempt] = field(default_factory=list)


class DemoPlanner:
    def __init__(self, *, seed: int, users: int, keys_per_user: list[int], now: datetime) -> None:
        # Reproducible demo data, not secrets: a seeded PRNG is the point.
        self.random = random.Random(seed)  # noqa: S311
        self.users = users
        self.keys_per_user = keys_per_user
        self.now = now
        # A few heavy users and a long tail, as in any team.
        self.user_weights = [1 / (rank + 1) ** 0.8 for rank in range(users)]
        self.models = list(MODEL_MIX)
        self.model_weights = [MODEL_MIX[model][0] for model in self.models]

    def generation(self, *, days: int) -> PlannedGeneration:
        rnd = self.random
        created = self.now - timedelta(seconds=rnd.uniform(120, days * 86400))
        owner = rnd.choices(range(self.users), self.user_weights)[0]
        keys = self.keys_per_user[owner]
        api_key = rnd.randrange(keys) if keys and rnd.random() < 0.6 else None
        model = rnd.choices(self.models, self.model_weights)[0]
        planned = PlannedGeneration(
            id=uuid.UUID(int=rnd.getrandbits(128), version=4),
            owner=owner,
            api_key=api_key,
            model=model,
            prompt=f"{rnd.choice(SUBJECTS)}, {rnd.choice(STYLES)}",
            num_images=rnd.choices((1, 2, 3, 4), (60, 20, 10, 10))[0],
            size=rnd.choice(("1K", "2K", "2K", "3K")),
            status="succeeded",
            created_at=created,
            finished_at=created,
        )
        roll = rnd.random()
        if roll < 0.015:
            return self._canceled_in_queue(planned)
        planned.started_at = created + timedelta(seconds=rnd.uniform(0.1, 2.0))
        if roll < 0.03:
            return self._canceled_running(planned)
        if roll < 0.11:
            return self._failed(planned)
        return self._succeeded(planned)

    def _canceled_in_queue(self, planned: PlannedGeneration) -> PlannedGeneration:
        planned.status = "canceled"
        planned.finished_at = planned.created_at + timedelta(seconds=self.random.uniform(1, 30))
        return planned

    def _canceled_running(self, planned: PlannedGeneration) -> PlannedGeneration:
        assert planned.started_at is not None
        kind = MODEL_MIX[planned.model][2][0]
        stopped = planned.started_at + timedelta(seconds=self.random.uniform(1, 8))
        planned.attempts.append(
            self._attempt(kind, "failed", planned.started_at, stopped, error_code="canceled")
        )
        planned.status, planned.finished_at = "canceled", stopped
        return planned

    def _failed(self, planned: PlannedGeneration) -> PlannedGeneration:
        assert planned.started_at is not None
        at = planned.started_at
        kinds = MODEL_MIX[planned.model][2]
        for kind in kinds[: self.random.choice((1, 1, 2))]:
            code, status, seconds = self.random.choice(FINAL_ERRORS)
            end = at + timedelta(seconds=seconds * self.random.uniform(0.8, 1.2))
            planned.attempts.append(
                self._attempt(kind, "failed", at, end, error_code=code, http_status=status)
            )
            at = end
        planned.status, planned.finished_at = "failed", at + timedelta(milliseconds=200)
        planned.error_code = planned.attempts[-1].error_code
        return planned

    def _succeeded(self, planned: PlannedGeneration) -> PlannedGeneration:
        assert planned.started_at is not None
        rnd = self.random
        at = planned.started_at
        kinds = list(MODEL_MIX[planned.model][2])
        if rnd.random() < 0.3 and len(kinds) > 1:
            kinds[0], kinds[1] = kinds[1], kinds[0]  # spread the load as priorities tie
        if rnd.random() < 0.1:  # the first account fails, the router fails over
            code, status, seconds = rnd.choice(FAILOVER_ERRORS)
            end = at + timedelta(seconds=seconds * rnd.uniform(0.8, 1.2))
            planned.attempts.append(
                self._attempt(kinds[0], "failed", at, end, error_code=code, http_status=status)
            )
            at, kinds = end, kinds[1:]
        delivered = planned.num_images
        outcome = "succeeded"
        if delivered > 1 and rnd.random() < 0.04:
            delivered, outcome = delivered - 1, "partial"
        typical = MODEL_MIX[planned.model][1] * (1 + 0.25 * (delivered - 1))
        seconds = typical * math.exp(rnd.gauss(0, 0.35))
        end = at + timedelta(seconds=seconds)
        # Now and then the provider bills an image we never received: the gap reconcile finds.
        reported = delivered + 1 if rnd.random() < 0.002 else delivered
        usage: dict[str, Any] = {"generated_images": reported}
        if kinds[0] in TOKEN_REPORTING_KINDS:
            usage["output_tokens"] = reported * 4096
            usage["total_tokens"] = reported * 4096
        attempt = self._attempt(kinds[0], outcome, at, end, http_status=200)
        attempt.images_returned, attempt.usage = delivered, usage
        planned.attempts.append(attempt)
        planned.delivered = delivered
        planned.finished_at = end + timedelta(milliseconds=rnd.randint(50, 400))
        return planned

    def _attempt(
        self,
        kind: str,
        outcome: str,
        started: datetime,
        finished: datetime,
        *,
        error_code: str = "",
        http_status: int | None = None,
    ) -> PlannedAttempt:
        return PlannedAttempt(
            kind=kind,
            outcome=outcome,
            started_at=started,
            finished_at=finished,
            error_code=error_code,
            http_status=http_status,
            request_id=f"{kind}-{self.random.getrandbits(64):016x}",
        )
