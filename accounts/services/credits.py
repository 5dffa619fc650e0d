"""The only code that changes a credit balance.

Every change runs in a transaction under a row lock on one wallet (``CreditAccount``: a user's
own or a team's) and writes one ``CreditEntry``, so a wallet's balances always equal the sums of
its ledger. Holds on different wallets lock different rows and never wait on each other. A
generation's hold, capture and release move the wallet the generation records. Entries tied to
a generation carry an idempotency key (``hold:<id>``, ``capture:<id>``, ``release:<id>``), so
a retried settlement finds the first entry instead of moving credits twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from studio_core.errors import ServiceError

from ..models import CreditAccount, CreditEntry, Team, User
from .audit import audit_record


class InsufficientCredits(ServiceError):
    code = "insufficient_credits"
    status = 402

    def __init__(self, *, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        self.shortfall = needed - available
        super().__init__(
            f"This needs {needed:,} credits but only {available:,} are available "
            f"({self.shortfall:,} short). Ask staff for more credits or request fewer images.",
            details={"needed": needed, "available": available, "shortfall": self.shortfall},
        )


class LedgerError(Exception):
    """A change that would break the ledger's invariants: a bug, never a user error."""


def credit_account_for(user: User) -> CreditAccount:
    """The user's own wallet (created on first use)."""
    account, _ = CreditAccount.objects.get_or_create(user=user)
    return account


def team_wallet_for(team: Team) -> CreditAccount:
    """The team's wallet (created on first use)."""
    account, _ = CreditAccount.objects.get_or_create(team=team)
    return account


def _wallet_of(*, user: User | None, wallet: CreditAccount | None) -> CreditAccount:
    if (user is None) == (wallet is None):
        raise ValueError("Name either the user or the wallet.")
    return wallet if wallet is not None else credit_account_for(user)  # type: ignore[arg-type]


def credits_grant(
    *,
    user: User | None = None,
    wallet: CreditAccount | None = None,
    amount: int,
    actor: User | None,
    memo: str,
    idempotency_key: str | None = None,
    ip_address: str | None = None,
) -> CreditEntry:
    if amount <= 0:
        raise ValueError("A grant must be a positive number of credits.")
    _require_memo(memo)
    return _apply(
        wallet=_wallet_of(user=user, wallet=wallet),
        kind=CreditEntry.Kind.GRANT,
        amount=amount,
        actor=actor,
        memo=memo,
        idempotency_key=idempotency_key,
        audit_action="credits.granted",
        ip_address=ip_address,
    )


def credits_adjust(
    *,
    user: User | None = None,
    wallet: CreditAccount | None = None,
    amount: int,
    actor: User | None,
    memo: str,
    idempotency_key: str | None = None,
    ip_address: str | None = None,
) -> CreditEntry:
    """A signed correction of the available balance; it can never take it below zero."""
    if amount == 0:
        raise ValueError("An adjustment must change the balance.")
    _require_memo(memo)
    return _apply(
        wallet=_wallet_of(user=user, wallet=wallet),
        kind=CreditEntry.Kind.ADJUST,
        amount=amount,
        actor=actor,
        memo=memo,
        idempotency_key=idempotency_key,
        audit_action="credits.adjusted",
        ip_address=ip_address,
    )


def credits_hold(*, amount: int, generation) -> CreditEntry | None:
    """Move ``amount`` from available to held on the generation's wallet; refuses to overspend."""
    return _generation_move(kind=CreditEntry.Kind.HOLD, amount=amount, generation=generation)


def credits_capture(*, amount: int, generation) -> CreditEntry | None:
    """Spend ``amount`` of a generation's hold (images delivered)."""
    return _generation_move(kind=CreditEntry.Kind.CAPTURE, amount=amount, generation=generation)


def credits_release(*, amount: int, generation) -> CreditEntry | None:
    """Return ``amount`` of a generation's hold to available (images not delivered)."""
    return _generation_move(kind=CreditEntry.Kind.RELEASE, amount=amount, generation=generation)


def release_hold_of_failed_generation(*, generation) -> CreditEntry | None:
    """A generation that ended with nothing to pay for (failed, expired before any image,
    canceled) gets its whole hold back: one RELEASE entry (``release:<id>``) under its
    wallet's row lock, found again rather than repeated when a settlement is retried."""
    return _generation_move(
        kind=CreditEntry.Kind.RELEASE, amount=generation.credits_held, generation=generation
    )


def credits_settle(*, generation, charged: int) -> list[CreditEntry]:
    """End a generation's hold in one locked step: capture ``charged``, release the rest."""
    changes = [
        _generation_change(kind=kind, amount=amount, generation=generation)
        for kind, amount in (
            (CreditEntry.Kind.CAPTURE, charged),
            (CreditEntry.Kind.RELEASE, generation.credits_held - charged),
        )
        if amount > 0
    ]
    if not changes:
        return []
    return _generation_changes_apply(wallet_id=generation.wallet_id, changes=changes)


def _require_memo(memo: str) -> None:
    if not memo.strip():
        raise ValueError("Say why in the memo: it is kept in the ledger and the audit trail.")


@dataclass(frozen=True)
class _Change:
    kind: str
    amount: int
    held_change: int = 0
    generation: Any = None  # a generations.Generation; accounts does not import it
    actor: User | None = None
    memo: str = ""
    idempotency_key: str | None = None
    audit_action: str = ""


# How each kind of a generation's change moves the balances, per credit: (available, held).
_GENERATION_MOVES: dict[str, tuple[int, int]] = {
    CreditEntry.Kind.HOLD: (-1, 1),
    CreditEntry.Kind.CAPTURE: (0, -1),
    CreditEntry.Kind.RELEASE: (1, -1),
}


def _generation_change(*, kind: str, amount: int, generation) -> _Change:
    """A hold, capture or release of ``amount`` for ``generation``; its idempotency key
    (``<kind>:<generation id>``) makes a retried one find the first entry."""
    available_sign, held_sign = _GENERATION_MOVES[kind]
    return _Change(
        kind=kind,
        amount=available_sign * amount,
        held_change=held_sign * amount,
        generation=generation,
        idempotency_key=f"{kind}:{generation.pk}",
    )


def _generation_move(*, kind: str, amount: int, generation) -> CreditEntry | None:
    """One hold, capture or release; nothing (None) for a zero amount."""
    if amount <= 0:
        return None
    change = _generation_change(kind=kind, amount=amount, generation=generation)
    return _generation_changes_apply(wallet_id=generation.wallet_id, changes=[change])[0]


def _apply(
    *,
    wallet: CreditAccount,
    kind: str,
    amount: int,
    held_change: int = 0,
    generation=None,
    actor: User | None = None,
    memo: str = "",
    idempotency_key: str | None = None,
    audit_action: str = "",
    ip_address: str | None = None,
) -> CreditEntry:
    change = _Change(
        kind=kind,
        amount=amount,
        held_change=held_change,
        generation=generation,
        actor=actor,
        memo=memo,
        idempotency_key=idempotency_key,
        audit_action=audit_action,
    )
    return _apply_changes(wallet_id=wallet.pk, changes=[change], ip_address=ip_address)[0]


def _apply_changes(
    *, wallet_id: int, changes: list[_Change], ip_address: str | None = None
) -> list[CreditEntry]:
    """Apply changes in order under one row lock, each with its ledger entry; all or none."""
    entries = []
    with transaction.atomic():
        account = CreditAccount.objects.select_for_update().get(pk=wallet_id)
        for change in changes:
            entries.append(_apply_one(account=account, change=change, ip_address=ip_address))
    return entries


def _apply_one(*, account: CreditAccount, change: _Change, ip_address: str | None) -> CreditEntry:
    if change.idempotency_key:
        # Checked under the lock: a concurrent retry of the same change waits and finds it.
        done = _entries_for_keys(account_id=account.pk, changes=[change])
        if done is not None:
            return done[0]
    available = account.available + change.amount
    held = account.held + change.held_change
    if available < 0:
        raise InsufficientCredits(needed=-change.amount, available=account.available)
    if held < 0:
        raise LedgerError(f"{change.kind} of {-change.held_change} exceeds the {account.held} held")
    account.available, account.held = available, held
    account.save(update_fields=["available", "held", "updated_at"])
    entry = _entry(account_id=account.pk, change=change, available=available, held=held)
    entry.save()
    if change.audit_action:
        audit_record(
            actor=change.actor,
            action=change.audit_action,
            target=account,
            before={"available": available - change.amount},
            after={"available": available, "amount": change.amount, "memo": change.memo},
            ip_address=ip_address,
        )
    return entry


def _generation_changes_apply(*, wallet_id: int, changes: list[_Change]) -> list[CreditEntry]:
    """A generation's hold or settlement: one locking UPDATE, one INSERT of its entries.

    Every generation charged to a wallet moves that wallet's one row, so the row lock is the
    queue they all wait in; here it is held from the UPDATE to the commit (the caller's), not
    across a read, a check and a write per change. Changes already in the ledger (same
    idempotency keys) are returned as they are, never applied twice: the UPDATE itself skips
    the row when they are.
    """
    if transaction.get_connection().in_atomic_block:
        # In the caller's transaction, without a savepoint: releasing one would be one more
        # round trip under the lock. The callers (submit, finish, cancel) hold the generation's
        # row lock and act from the one state that allows the change, so no concurrent
        # duplicate reaches the unique key; if one ever did, the caller's transaction fails.
        return _generation_changes_write(wallet_id=wallet_id, changes=changes)
    try:
        with transaction.atomic():
            return _generation_changes_write(wallet_id=wallet_id, changes=changes)
    except IntegrityError:
        # A concurrent call with the same keys committed first.
        done = _entries_for_keys(account_id=wallet_id, changes=changes)
        if done is None:
            raise
        return done


def _entries_for_keys(*, account_id: int, changes: list[_Change]) -> list[CreditEntry] | None:
    """The ledger entries already written for these changes (by their idempotency keys), or
    None when there are none; a key used for a different change is a ``LedgerError``."""
    keys = [change.idempotency_key for change in changes if change.idempotency_key]
    found = CreditEntry.objects.filter(idempotency_key__in=keys)
    existing = {entry.idempotency_key: entry for entry in found}
    if not existing:
        return None
    for change in changes:
        entry = existing.get(change.idempotency_key)
        recorded = entry and (entry.account_id, entry.kind, entry.amount, entry.held_change)
        if recorded != (account_id, change.kind, change.amount, change.held_change):
            raise LedgerError(
                f"The idempotency key {change.idempotency_key!r} was already used for a "
                "different credit change; use a new key."
            )
    return [existing[change.idempotency_key] for change in changes]


def _entry(*, account_id: int, change: _Change, available: int, held: int) -> CreditEntry:
    """The (unsaved) ledger entry of ``change``, with the balances after it."""
    return CreditEntry(
        account_id=account_id,
        kind=change.kind,
        amount=change.amount,
        held_change=change.held_change,
        available_after=available,
        held_after=held,
        generation=change.generation,
        actor=change.actor,
        memo=change.memo[:500],
        idempotency_key=change.idempotency_key or None,
    )


def _generation_changes_write(*, wallet_id: int, changes: list[_Change]) -> list[CreditEntry]:
    available_change = sum(change.amount for change in changes)
    held_change = sum(change.held_change for change in changes)
    balances = _balances_move(
        wallet_id=wallet_id,
        available_change=available_change,
        held_change=held_change,
        unless_recorded=[change.idempotency_key for change in changes if change.idempotency_key],
    )
    if balances is None:
        done = _entries_for_keys(account_id=wallet_id, changes=changes)
        assert done is not None  # _balances_move found them
        return done
    available = balances[0] - available_change
    held = balances[1] - held_change
    entries = []
    for change in changes:
        available += change.amount
        held += change.held_change
        entries.append(_entry(account_id=wallet_id, change=change, available=available, held=held))
    return CreditEntry.objects.bulk_create(entries)


def _balances_move(
    *, wallet_id: int, available_change: int, held_change: int, unless_recorded: Sequence[str] = ()
) -> tuple[int, int] | None:
    """Add to both balances in one statement that locks the row and returns the balances after.

    Raw SQL because the ORM's update() cannot return the new values (a second read under the
    lock is what this avoids). Refuses, changing nothing, what would take a balance below zero.
    Changes nothing and returns None when a ledger entry has one of the ``unless_recorded``
    idempotency keys already (checked in the same statement, not by a read before it).
    """
    connection = transaction.get_connection()
    table = CreditAccount._meta.db_table
    entries = CreditEntry._meta.db_table
    sql = (
        f"UPDATE {table} "  # noqa: S608 (the models' own table names)
        "SET available = available + %s, held = held + %s, updated_at = %s "
        "WHERE id = %s AND available + %s >= 0 AND held + %s >= 0 "
    )
    if unless_recorded:
        placeholders = ", ".join(["%s"] * len(unless_recorded))
        sql += (
            f"AND NOT EXISTS (SELECT 1 FROM {entries} "  # noqa: S608
            f"WHERE idempotency_key IN ({placeholders})) "
        )
    sql += "RETURNING available, held"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [available_change, held_change, now, wallet_id, available_change, held_change]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *unless_recorded])
        row = cursor.fetchone()
    if row is not None:
        return int(row[0]), int(row[1])
    # Already recorded or refused: say which.
    recorded = CreditEntry.objects.filter(idempotency_key__in=unless_recorded)
    if unless_recorded and recorded.exists():
        return None
    account = CreditAccount.objects.filter(pk=wallet_id).first()
    if account is None:
        raise LedgerError(f"there is no wallet {wallet_id}")
    if account.available + available_change < 0:
        raise InsufficientCredits(needed=-available_change, available=account.available)
    raise LedgerError(f"releasing {-held_change} exceeds the {account.held} held")
