"""One factory per model, so tests build rows the same way everywhere.

Rows whose invariants a service keeps are made through that service: balances and ledger
entries only ever come from ``accounts.services.credits`` (a funded user is granted its credits,
a generation's hold is taken and settled there), so the after-test ledger check holds for every
row a factory makes. Timestamps Django fills in itself (``auto_now_add``) can still be given:
``TimestampedFactory`` writes them after the insert.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import (
    Allowance,
    ApiKey,
    AuditEvent,
    Budget,
    BudgetAlert,
    BudgetHold,
    BudgetSpend,
    CreditAccount,
    CreditEntry,
    Invitation,
    Membership,
    ModelPrice,
    Team,
    User,
    WebhookSecret,
)
from accounts.services.budgets import budgets_hold, period_bounds
from accounts.services.credits import (
    credit_account_for,
    credits_adjust,
    credits_grant,
    credits_hold,
    credits_settle,
    team_wallet_for,
)
from accounts.services.teams import team_create
from generations.models import (
    Board,
    BoardItem,
    Comparison,
    ComparisonEntry,
    Generation,
    OutputImage,
    ProviderAccount,
    ProviderAttempt,
    ProviderHealthRollup,
    ProviderHealthRollupProgress,
    ReferenceImage,
    Star,
    Upload,
    WebhookDelivery,
)
from generations.models.health_rollup import ROLLUP_PROGRESS_ID
from generations.security.credentials import credential_encrypt

TEST_FUNDS_MEMO = "test funds"


class TimestampedFactory(factory.django.DjangoModelFactory):
    """Accepts values for ``auto_now_add``/``auto_now`` fields, which a plain insert would
    overwrite with the current time, and writes them once the row exists."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        automatic = {
            field.name
            for field in model_class._meta.concrete_fields
            if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False)
        }
        given = {name: kwargs.pop(name) for name in automatic & kwargs.keys()}
        instance = super()._create(model_class, *args, **kwargs)
        if given:
            model_class.objects.filter(pk=instance.pk).update(**given)
            for name, value in given.items():
                setattr(instance, name, value)
        return instance


# accounts


class UserFactory(factory.django.DjangoModelFactory):
    """``UserFactory(credits=500)`` grants the new user 500 credits through the credit service."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda number: f"teammate{number}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def credits(user: User, create: bool, amount: int | None, **_: Any) -> None:
        if create and amount:
            credits_grant(user=user, amount=amount, actor=None, memo=TEST_FUNDS_MEMO)


class CreditAccountFactory(factory.django.DjangoModelFactory):
    """A balance as the credit service makes one: ``available`` arrives as a grant entry.

    ``held`` is not a field to set: credits are held by a generation
    (``GenerationFactory(credits_held=…)``).
    """

    class Meta:
        model = CreditAccount

    user = factory.SubFactory(UserFactory)
    available = 0

    @classmethod
    def _create(cls, model_class: Any, *, user: User, available: int = 0) -> CreditAccount:
        if available:
            credits_grant(user=user, amount=available, actor=None, memo=TEST_FUNDS_MEMO)
        return credit_account_for(user)


class CreditEntryFactory(factory.django.DjangoModelFactory):
    """A ledger line written by the credit service: a grant, or an adjustment
    (``kind=CreditEntry.Kind.ADJUST``, a signed ``amount``). Holds, captures and releases belong
    to a generation and are written by ``GenerationFactory``."""

    class Meta:
        model = CreditEntry

    account = factory.SubFactory(CreditAccountFactory)
    kind = CreditEntry.Kind.GRANT
    amount = 100
    actor = None
    memo = TEST_FUNDS_MEMO

    @classmethod
    def _create(
        cls,
        model_class: Any,
        *,
        account: CreditAccount,
        kind: str,
        amount: int,
        actor: User | None,
        memo: str,
        **kwargs: Any,
    ) -> CreditEntry:
        if kind == CreditEntry.Kind.GRANT:
            change = credits_grant
        elif kind == CreditEntry.Kind.ADJUST:
            change = credits_adjust
        else:
            raise ValueError(f"a {kind} entry belongs to a generation: use GenerationFactory")
        return change(wallet=account, amount=amount, actor=actor, memo=memo, **kwargs)


class TeamFactory(factory.django.DjangoModelFactory):
    """A team made by ``team_create`` (with its wallet); ``credits`` are granted to the wallet."""

    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")

    @classmethod
    def _create(cls, model_class: Any, *, name: str, slug: str, **fields: Any) -> Team:
        team = team_create(name=name, slug=slug, actor=None)
        if fields:
            Team.objects.filter(pk=team.pk).update(**fields)
            team.refresh_from_db()
        return team

    @factory.post_generation
    def credits(team: Team, create: bool, amount: int | None) -> None:
        if create and amount:
            credits_grant(
                wallet=team_wallet_for(team), amount=amount, actor=None, memo=TEST_FUNDS_MEMO
            )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER


class BudgetFactory(factory.django.DjangoModelFactory):
    """A team's monthly budget unless told otherwise (``scope`` with its target)."""

    class Meta:
        model = Budget

    scope = Budget.Scope.TEAM
    team = factory.SubFactory(TeamFactory)
    limit = 1000
    period = "month"


class BudgetSpendFactory(factory.django.DjangoModelFactory):
    """A budget's current period, nothing spent yet (spending comes from generations' holds)."""

    class Meta:
        model = BudgetSpend

    budget = factory.SubFactory(BudgetFactory)
    period_start = factory.LazyAttribute(lambda spend: period_bounds(spend.budget.period).start)
    spent = 0


class BudgetHoldFactory(factory.django.DjangoModelFactory):
    """A queued generation's hold on a team budget, made by ``budgets_hold`` (so the period's
    ``spent`` moves with it) and on the team's wallet."""

    class Meta:
        model = BudgetHold

    spend = None

    @classmethod
    def _create(cls, model_class: Any, *, spend: BudgetSpend | None = None) -> BudgetHold:
        from django.db import transaction

        budget = spend.budget if spend is not None else BudgetFactory(limit=10_000)
        team = budget.team
        member = MembershipFactory(team=team).user
        credits_grant(wallet=team_wallet_for(team), amount=90, actor=None, memo=TEST_FUNDS_MEMO)
        with transaction.atomic():
            generation = GenerationFactory(
                owner=member, wallet=team_wallet_for(team), credits_held=90
            )
            budgets_hold(generation=generation, budgets=[budget], amount=90)
        return BudgetHold.objects.get(generation=generation)


class BudgetAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BudgetAlert

    spend = factory.SubFactory(BudgetSpendFactory)
    threshold = 80
    spent = 0


class AllowanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Allowance

    wallet = factory.SubFactory(CreditAccountFactory)
    amount = 1000
    period = "month"
    policy = Allowance.Policy.ADD


class ModelPriceFactory(factory.django.DjangoModelFactory):
    """A size tier's own price (the migrations seed each model's price for every size)."""

    class Meta:
        model = ModelPrice

    model = "seedream-4.0"
    size_tier = factory.Iterator(["1K", "2K", "3K", "4K"])
    credits_per_image = 30
    source = "test price"


class ApiKeyFactory(TimestampedFactory):
    """A key row for tests that only need one to exist (its owner's usage, its list).
    A test that authenticates with a key asks ``accounts.services.keys.api_key_create``, the
    only place a usable secret is made."""

    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)
    name = "render farm"
    prefix = factory.Sequence(lambda number: f"{number:012x}")
    secret_hash = factory.LazyFunction(lambda: hashlib.sha256(secrets.token_bytes(32)).hexdigest())


class AuditEventFactory(TimestampedFactory):
    class Meta:
        model = AuditEvent

    actor = factory.SubFactory(UserFactory)
    action = "api_key.created"
    target_type = "accounts.apikey"
    target_id = factory.Sequence(str)
    target_repr = "render farm"


class InvitationFactory(TimestampedFactory):
    """A pending invitation as ``invitations_create`` leaves it once mailed (the mail itself
    and its signed link are the service's: tests that follow a link invite through it)."""

    class Meta:
        model = Invitation

    email = factory.Sequence(lambda number: f"invitee{number}@example.com")
    invited_by = factory.SubFactory(UserFactory, is_staff=True)
    send_count = 1
    sent_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


def webhook_secret_value() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


class WebhookSecretFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSecret

    user = factory.SubFactory(UserFactory)
    secret = factory.LazyFunction(webhook_secret_value)


# generations


class ProviderAccountFactory(factory.django.DjangoModelFactory):
    """``ProviderAccountFactory(kind="ark", api_key="…")`` stores the key encrypted, as
    ``provider_account_create`` does."""

    class Meta:
        model = ProviderAccount

    class Params:
        api_key = ""

    kind = ProviderAccount.Kind.LOCAL
    label = factory.Sequence(lambda number: f"Provider account {number}")
    models_served = factory.LazyFunction(lambda: ["seedream-4.0"])
    credentials_encrypted = factory.LazyAttribute(
        lambda account: credential_encrypt(account.api_key) if account.api_key else ""
    )


class GenerationFactory(TimestampedFactory):
    """A generation row whose credits went through the credit service: ``credits_held`` is
    held from the owner's balance (the owner must have it), and a terminal generation's hold is
    settled (``credits_charged`` captured, the rest released).

    ``through_ledger=False`` writes the credit figures on the row alone, for pages that only
    show them; ``through_ledger__settle=True`` settles a generation still running too, for a
    test that ends it later with a plain update.
    """

    class Meta:
        model = Generation
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    # Charged to the owner's own wallet unless a test names a team's.
    wallet = factory.LazyAttribute(lambda generation: credit_account_for(generation.owner))
    model = "seedream-4.0"
    prompt = "a lighthouse at dusk"
    params = factory.LazyFunction(lambda: {"size": "1K", "aspect_ratio": "1:1"})
    num_images = 1

    @factory.post_generation
    def through_ledger(
        generation: Generation, create: bool, enabled: bool | None, settle: bool | None = None
    ) -> None:
        if not create or enabled is False or not generation.credits_held:
            return
        credits_hold(amount=generation.credits_held, generation=generation)
        if generation.is_terminal if settle is None else settle:
            credits_settle(generation=generation, charged=generation.credits_charged)


def finished_generation_times(
    *, created_at: datetime | None = None, seconds: float = 10.0
) -> dict[str, Any]:
    """``created_at``, ``started_at`` (a second later) and ``finished_at`` for a generation
    that ran ``seconds``."""
    created_at = created_at or timezone.now()
    started_at = created_at + timedelta(seconds=1)
    return {
        "created_at": created_at,
        "started_at": started_at,
        "finished_at": started_at + timedelta(seconds=seconds),
    }


class ProviderAttemptFactory(TimestampedFactory):
    class Meta:
        model = ProviderAttempt

    generation = factory.SubFactory(GenerationFactory)
    account = factory.SubFactory(ProviderAccountFactory)
    provider_kind = factory.LazyAttribute(
        lambda attempt: attempt.account.kind if attempt.account else ProviderAccount.Kind.LOCAL
    )


def _next_position(generation: Generation, related: str) -> int:
    return getattr(generation, related).count()


class StoredImageFactory(TimestampedFactory):
    """An image row; ``content=<bytes>`` also stores those bytes in the default storage under
    the row's file name (and its size in ``bytes``)."""

    class Meta:
        abstract = True

    content = None
    sha256 = factory.LazyAttribute(
        lambda image: hashlib.sha256(image.content).hexdigest() if image.content else "0" * 64
    )
    width = 64
    height = 64
    format = "png"
    bytes = factory.LazyAttribute(lambda image: len(image.content) if image.content else 100)

    @classmethod
    def _create(cls, model_class: Any, *args: Any, content: bytes | None = None, **kwargs: Any):
        if content is not None:
            for name in ("file", "thumbnail"):
                if name in kwargs:
                    kwargs[name] = default_storage.save(str(kwargs[name]), ContentFile(content))
        return super()._create(model_class, *args, **kwargs)


class OutputImageFactory(StoredImageFactory):
    class Meta:
        model = OutputImage

    generation = factory.SubFactory(GenerationFactory)
    index = factory.LazyAttribute(lambda image: _next_position(image.generation, "outputs"))
    file = factory.LazyAttribute(
        lambda image: f"outputs/{image.generation.pk}-{image.index}.{image.format}"
    )
    thumbnail = factory.LazyAttribute(
        lambda image: f"thumbnails/{image.generation.pk}-{image.index}.jpg"
    )


class ReferenceImageFactory(StoredImageFactory):
    class Meta:
        model = ReferenceImage

    generation = factory.SubFactory(GenerationFactory)
    position = factory.LazyAttribute(lambda image: _next_position(image.generation, "references"))
    file = factory.LazyAttribute(
        lambda image: f"references/{image.generation.pk}-{image.position}.{image.format}"
    )


class UploadFactory(StoredImageFactory):
    """An upload row; ``generations.services.uploads.upload_create`` is for tests of the
    checks and the quota."""

    class Meta:
        model = Upload

    owner = factory.SubFactory(UserFactory)
    file = factory.LazyFunction(lambda: f"uploads/{uuid.uuid4().hex}.png")


class StarFactory(TimestampedFactory):
    class Meta:
        model = Star

    user = factory.SubFactory(UserFactory)
    generation = factory.SubFactory(GenerationFactory, owner=factory.SelfAttribute("..user"))


class BoardFactory(TimestampedFactory):
    class Meta:
        model = Board

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda number: f"Board {number}")
    visibility = Board.Visibility.PRIVATE


class BoardItemFactory(TimestampedFactory):
    """A whole generation on a board; ``output=…`` puts one image of it there instead."""

    class Meta:
        model = BoardItem

    board = factory.SubFactory(BoardFactory)
    generation = factory.LazyAttribute(
        lambda item: (
            item.output.generation
            if item.output is not None
            else GenerationFactory(owner=item.board.owner)
        )
    )
    output = None


class ComparisonFactory(TimestampedFactory):
    """A comparison without generations; ``ComparisonEntryFactory(comparison=…)`` adds them."""

    class Meta:
        model = Comparison

    owner = factory.SubFactory(UserFactory)
    prompt = "a lighthouse at dusk"
    models_requested = factory.LazyFunction(lambda: ["seedream-4.0", "seedream-5.0-lite"])
    visibility = Comparison.Visibility.PRIVATE


class ComparisonEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ComparisonEntry

    comparison = factory.SubFactory(ComparisonFactory)
    generation = factory.LazyAttribute(
        lambda entry: GenerationFactory(
            owner=entry.comparison.owner, prompt=entry.comparison.prompt
        )
    )
    position = factory.Sequence(lambda number: number)


def five_minute_bucket(at: datetime | None = None) -> datetime:
    at = at or timezone.now()
    return at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0)


class ProviderHealthRollupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderHealthRollup

    account = factory.SubFactory(ProviderAccountFactory)
    bucket_start = factory.LazyFunction(five_minute_bucket)
    computed_at = factory.LazyFunction(timezone.now)


class ProviderHealthRollupProgressFactory(factory.django.DjangoModelFactory):
    """The single progress row (id 1)."""

    class Meta:
        model = ProviderHealthRollupProgress
        django_get_or_create = ("id",)

    id = ROLLUP_PROGRESS_ID
    covered_from = factory.LazyFunction(lambda: five_minute_bucket() - timedelta(days=1))
    settled_until = factory.LazyFunction(five_minute_bucket)
    run_started_at = factory.LazyFunction(timezone.now)


class WebhookDeliveryFactory(TimestampedFactory):
    class Meta:
        model = WebhookDelivery

    generation = factory.SubFactory(GenerationFactory)
    event = "generation.succeeded"
    message_id = factory.LazyFunction(lambda: f"msg_{uuid.uuid4().hex}")
    url = "https://hooks.example.com/seedream"
    attempt = 1
