"""Writes a demo data set in bulk: users, keys, provider accounts, generations, ledger, audit.

For demos and benchmarks only (``manage.py seed_demo_data``). It bypasses the services on
purpose: they lock and write one row at a time, and 100,000 generations through them would take
an hour. What it writes still obeys every ledger invariant ``manage.py check_ledger`` checks:
entries are inserted in time order per account with running balances, every generation is
terminal and its hold is fully captured or released, and each balance is the sum of its entries.

Everything it creates is recognisable, so ``--reset`` can remove it again without touching real
data: users named ``demo-…``, provider accounts labelled ``Demo · …``, and audit events from the
documentation address ``192.0.2.10`` (RFC 5737, never a real client).
"""

import hashlib
import io
import secrets
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.utils import timezone
from PIL import Image

from accounts.models import ApiKey, AuditEvent, CreditAccount, CreditEntry, ModelPrice, User
from generations.models import (
    Generation,
    OutputImage,
    ProviderAccount,
    ProviderAttempt,
    ReferenceImage,
    WebhookDelivery,
)
from generations.usage.demo_plan import MODEL_MIX, SIZES, DemoPlanner, PlannedGeneration

DEMO_USER_PREFIX = "demo-"
DEMO_STAFF_USERNAME = "demo-staff"
DEMO_ACCOUNT_PREFIX = "Demo · "
DEMO_IP = "192.0.2.10"
DEFAULT_PRICE = 30
BATCH = 2000
# (generation id, created, order within the instant, user id, kind, amount, held change, actor)
LedgerEvent = tuple[Any, datetime, int, int, str, int, int, int | None]


@dataclass(frozen=True)
class SeedResult:
    users: int
    api_keys: int
    generations: int
    attempts: int
    outputs: int
    ledger_entries: int
    seconds: float


def demo_generation_count() -> int:
    return Generation.objects.filter(owner__username__startswith=DEMO_USER_PREFIX).count()


def demo_data_exists() -> bool:
    return User.objects.filter(username__startswith=DEMO_USER_PREFIX).exists()


@contextmanager
def _timestamps_as_given() -> Iterator[None]:
    """Let bulk_create keep the historical times we set instead of stamping "now"."""
    switched: list[tuple[models.DateTimeField, bool, bool]] = []
    for model in (Generation, ProviderAttempt, OutputImage, CreditEntry, AuditEvent, ApiKey):
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.DateTimeField) and (
                model_field.auto_now or model_field.auto_now_add
            ):
                switched.append((model_field, model_field.auto_now, model_field.auto_now_add))
                model_field.auto_now = model_field.auto_now_add = False
    try:
        yield
    finally:
        for model_field, auto_now, auto_now_add in switched:
            model_field.auto_now, model_field.auto_now_add = auto_now, auto_now_add


def demo_data_delete() -> None:
    """Remove everything an earlier seed wrote (children first: the ledger protects its rows)."""
    demo_users = User.objects.filter(username__startswith=DEMO_USER_PREFIX)
    demo_generations = Generation.objects.filter(owner__in=demo_users)
    with transaction.atomic():
        CreditEntry.objects.filter(account__user__in=demo_users).delete()
        for child in (ProviderAttempt, OutputImage, ReferenceImage, WebhookDelivery):
            child.objects.filter(generation__in=demo_generations).delete()
        demo_generations.only("pk").delete()
        ApiKey.objects.filter(user__in=demo_users).delete()
        CreditAccount.objects.filter(user__in=demo_users).delete()
        AuditEvent.objects.filter(ip_address=DEMO_IP).delete()
        ProviderAccount.objects.filter(label__startswith=DEMO_ACCOUNT_PREFIX).delete()
        demo_users.delete()


def demo_data_seed(
    *, generations: int, days: int = 90, users: int = 30, seed: int = 1, batch: int = BATCH
) -> SeedResult:
    started = time.monotonic()
    now = timezone.now().replace(second=0, microsecond=0)
    with transaction.atomic(), _timestamps_as_given():
        writer = _Writer(now=now, days=days, seed=seed, batch=batch)
        writer.people(count=users)
        writer.provider_accounts()
        writer.placeholder_images()
        planner = DemoPlanner(seed=seed, users=users, keys_per_user=writer.keys_per_user(), now=now)
        for first in range(0, generations, batch):
            chunk = [planner.generation(days=days) for _ in range(min(batch, generations - first))]
            writer.generations(chunk)
        writer.ledger()
        writer.audit_trail()
    if connection.vendor == "postgresql":
        # Fresh statistics, or the planner takes the new 100,000-row tables for empty ones
        # until autovacuum gets round to them, and the first reports pick poor plans.
        with connection.cursor() as cursor:
            for model in (Generation, ProviderAttempt, OutputImage, CreditEntry, AuditEvent):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return SeedResult(
        users=users,
        api_keys=len(writer.api_keys),
        generations=generations,
        attempts=writer.attempt_count,
        outputs=writer.output_count,
        ledger_entries=writer.entry_count,
        seconds=round(time.monotonic() - started, 1),
    )


class _Writer:
    def __init__(self, *, now: datetime, days: int, seed: int, batch: int) -> None:
        self.now, self.days, self.batch = now, days, batch
        self.start = now - timedelta(days=days, hours=1)
        self.prices = dict(
            ModelPrice.objects.filter(size_tier="").values_list("model", "credits_per_image")
        )
        self.users: list[User] = []
        self.wallet_of: dict[int, int] = {}  # user id -> wallet id
        self.api_keys: list[ApiKey] = []
        self.keys_of: dict[int, list[int]] = defaultdict(list)  # user index -> key ids
        self.accounts: dict[str, ProviderAccount] = {}
        self.placeholders: dict[str, tuple[str, str, str, int]] = {}
        self.ledger_events: list[LedgerEvent] = []
        self.attempt_count = self.output_count = self.entry_count = 0
        self.last_call: dict[str, datetime] = {}
        self.seed = seed

    def keys_per_user(self) -> list[int]:
        return [len(self.keys_of[index]) for index in range(len(self.users))]

    def people(self, *, count: int) -> None:
        unusable = make_password(None)  # demo users cannot log in
        self.staff = User.objects.create(
            username=DEMO_STAFF_USERNAME, is_staff=True, password=unusable
        )
        self.users = User.objects.bulk_create(
            User(
                username=f"{DEMO_USER_PREFIX}user{number:02d}",
                email=f"user{number:02d}@demo.invalid",
                password=unusable,
                date_joined=self.start,
            )
            for number in range(1, count + 1)
        )
        wallets = CreditAccount.objects.bulk_create(CreditAccount(user=user) for user in self.users)
        self.wallet_of = {
            user.pk: wallet.pk for user, wallet in zip(self.users, wallets, strict=True)
        }
        keys = []
        for index, user in enumerate(self.users):
            for number in range(index % 3):  # 0, 1 or 2 keys
                keys.append(
                    ApiKey(
                        user=user,
                        name=("laptop script", "render farm")[number],
                        prefix=secrets.token_hex(6),
                        secret_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
                        created_at=self.start,
                    )
                )
        self.api_keys = ApiKey.objects.bulk_create(keys)
        index_of = {user.pk: index for index, user in enumerate(self.users)}
        for key in self.api_keys:
            self.keys_of[index_of[key.user_id]].append(key.pk)

    def provider_accounts(self) -> None:
        kinds = sorted({kind for _, _, served in MODEL_MIX.values() for kind in served})
        for priority, kind in enumerate(kinds):
            self.accounts[kind] = ProviderAccount.objects.create(
                kind=kind,
                label=f"{DEMO_ACCOUNT_PREFIX}{ProviderAccount.Kind(kind).label}",
                priority=10 * (priority + 1),
                models_served=[m for m, (_, _, served) in MODEL_MIX.items() if kind in served],
                # History only: without credentials the router must never pick these.
                enabled=False,
                disabled_reason="Demo history (seed_demo_data); no credentials.",
            )

    def placeholder_images(self) -> None:
        """One small image per model that every demo output points at."""
        for number, model in enumerate(MODEL_MIX):
            buffer = io.BytesIO()
            colour = (60 + 30 * number, 120, 200 - 25 * number)
            Image.new("RGB", (256, 256), colour).save(buffer, format="JPEG")
            content = buffer.getvalue()
            name = f"demo/{model}.jpg"
            if not default_storage.exists(name):
                name = default_storage.save(name, ContentFile(content))
            sha = hashlib.sha256(content).hexdigest()
            self.placeholders[model] = (name, name, sha, len(content))

    def generations(self, planned: list[PlannedGeneration]) -> None:
        rows: list[Generation] = []
        attempts: list[ProviderAttempt] = []
        outputs: list[OutputImage] = []
        for plan in planned:
            owner = self.users[plan.owner]
            price = self.prices.get(plan.model, DEFAULT_PRICE)
            held, charged = plan.num_images * price, plan.delivered * price
            width, height = SIZES[plan.size]
            rows.append(
                Generation(
                    id=plan.id,
                    owner=owner,
                    wallet_id=self.wallet_of[owner.pk],
                    api_key_id=(
                        self.keys_of[plan.owner][plan.api_key] if plan.api_key is not None else None
                    ),
                    model=plan.model,
                    prompt=plan.prompt,
                    params={
                        "model": plan.model,
                        "size": plan.size,
                        "width": width,
                        "height": height,
                        "num_images": plan.num_images,
                    },
                    num_images=plan.num_images,
                    status=plan.status,
                    error_code=plan.error_code,
                    price_per_image=price,
                    credits_held=held,
                    credits_charged=charged,
                    created_at=plan.created_at,
                    started_at=plan.started_at,
                    finished_at=plan.finished_at,
                    updated_at=plan.finished_at,
                )
            )
            for attempt in plan.attempts:
                account = self.accounts[attempt.kind]
                attempts.append(
                    ProviderAttempt(
                        generation_id=plan.id,
                        account=account,
                        provider_kind=attempt.kind,
                        outcome=attempt.outcome,
                        http_status=attempt.http_status,
                        provider_request_id=attempt.request_id,
                        error_code=attempt.error_code,
                        images_returned=attempt.images_returned,
                        usage=attempt.usage,
                        latency_ms=int(
                            (attempt.finished_at - attempt.started_at).total_seconds() * 1000
                        ),
                        started_at=attempt.started_at,
                        finished_at=attempt.finished_at,
                    )
                )
                self.last_call[attempt.kind] = max(
                    self.last_call.get(attempt.kind, attempt.finished_at), attempt.finished_at
                )
            file_name, thumbnail, sha, size = self.placeholders[plan.model]
            outputs.extend(
                OutputImage(
                    generation_id=plan.id,
                    index=index,
                    file=file_name,
                    thumbnail=thumbnail,
                    sha256=sha,
                    width=width,
                    height=height,
                    format="jpeg",
                    bytes=size,
                    created_at=plan.finished_at,
                )
                for index in range(plan.delivered)
            )
            self._ledger_events(plan, user_id=owner.pk, held=held, charged=charged)
        Generation.objects.bulk_create(rows, batch_size=self.batch)
        ProviderAttempt.objects.bulk_create(attempts, batch_size=self.batch)
        OutputImage.objects.bulk_create(outputs, batch_size=self.batch)
        self.attempt_count += len(attempts)
        self.output_count += len(outputs)

    def _ledger_events(self, plan: PlannedGeneration, *, user_id: int, held: int, charged: int):
        # The same moves as accounts.services.credits: hold on accept, capture then release.
        self.ledger_events.append((plan.id, plan.created_at, 1, user_id, "hold", -held, held, None))
        if charged:
            self.ledger_events.append(
                (plan.id, plan.finished_at, 2, user_id, "capture", 0, -charged, None)
            )
        if held - charged:
            released = held - charged
            self.ledger_events.append(
                (plan.id, plan.finished_at, 3, user_id, "release", released, -released, None)
            )

    def ledger(self) -> None:
        holds: dict[int, int] = defaultdict(int)
        for event in self.ledger_events:
            if event[4] == "hold":
                holds[event[3]] += event[6]
        # Each user starts with enough to have held every request at once, so no balance in the
        # replayed history ever goes below zero.
        grants = {user.pk: (holds[user.pk] // 10_000 + 2) * 10_000 for user in self.users}
        events: list[LedgerEvent] = [
            (None, self.start, 0, user_id, "grant", amount, 0, self.staff.pk)
            for user_id, amount in grants.items()
        ]
        events.extend(self.ledger_events)
        events.sort(key=lambda event: (event[1], event[2]))
        balances = {user_id: [0, 0] for user_id in grants}
        batch: list[CreditEntry] = []
        for generation_id, at, _, user_id, kind, amount, held_change, actor in events:
            balance = balances[user_id]
            balance[0] += amount
            balance[1] += held_change
            batch.append(
                CreditEntry(
                    account_id=self.wallet_of[user_id],
                    kind=kind,
                    amount=amount,
                    held_change=held_change,
                    available_after=balance[0],
                    held_after=balance[1],
                    generation_id=generation_id,
                    actor_id=actor,
                    memo="Demo budget" if kind == "grant" else "",
                    idempotency_key=f"{kind}:{generation_id}" if generation_id else None,
                    created_at=at,
                )
            )
            if len(batch) >= self.batch:
                self.entry_count += len(CreditEntry.objects.bulk_create(batch))
                batch = []
        self.entry_count += len(CreditEntry.objects.bulk_create(batch))
        for user_id, (available, held) in balances.items():
            CreditAccount.objects.filter(pk=self.wallet_of[user_id]).update(
                available=available, held=held
            )
        self.grants = grants

    def audit_trail(self) -> None:
        """The events the services would have written for the same history."""

        def event(actor: User | None, action: str, target: Any, at: datetime, **after: Any):
            return AuditEvent(
                actor=actor,
                action=action,
                target_type=target._meta.label_lower,
                target_id=str(target.pk),
                target_repr=str(target)[:200],
                after=after,
                ip_address=DEMO_IP,
                created_at=at,
            )

        events = [
            event(self.staff, "provider_account.created", account, self.start, kind=kind)
            for kind, account in self.accounts.items()
        ]
        by_pk = {user.pk: user for user in self.users}
        events += [
            event(by_pk[key.user_id], "api_key.created", key, self.start, prefix=key.prefix)
            for key in self.api_keys
        ]
        events += [
            event(
                self.staff,
                "credits.granted",
                CreditAccount(user=by_pk[user_id], available=amount),
                self.start,
                amount=amount,
                memo="Demo budget",
            )
            for user_id, amount in self.grants.items()
        ]
        # A key that stopped working in the last day: the router disabled the account itself.
        flaky = self.accounts.get("fal") or next(iter(self.accounts.values()))
        events.append(
            event(None, "provider_account.disabled", flaky, self.now - timedelta(hours=3))
        )
        events.append(
            event(
                None,
                "user.login_failed",
                self.staff,
                self.now - timedelta(hours=5),
                username=DEMO_STAFF_USERNAME,
            )
        )
        AuditEvent.objects.bulk_create(events, batch_size=self.batch)
        for kind, last in self.last_call.items():
            ProviderAccount.objects.filter(pk=self.accounts[kind].pk).update(last_success_at=last)
