"""The only code that changes a credit balance.

Every change runs in a transaction under a row lock on the user's ``CreditAccount`` and writes
one ``CreditEntry``, so an account's balances always equal the sums of its ledger. Holds of
different users lock different rows and never wait on each other. Entries tied to a generation
carry an idempotency key (``hold:<id>``, ``capture:<id>``, ``release:<id>``), so a retried
settlement finds the first entry instead of moving credits twice.
"""

from django.db import transaction

from ..models import CreditAccount, CreditEntry, User
from .audit import audit_record


class InsufficientCredits(Exception):
    code = "insufficient_credits"

    def __init__(self, *, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        self.shortfall = needed - available
        super().__init__(
            f"This needs {needed:,} credits but only {available:,} are available "
            f"({self.shortfall:,} short). Ask staff for more credits or request fewer images."
        )


class LedgerError(Exception):
    """A change that would break the ledger's invariants: a bug, never a user error."""


def credit_account_for(user: User) -> CreditAccount:
    account, _ = CreditAccount.objects.get_or_create(user=user)
    return account


def credits_grant(
    *,
    user: User,
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
        user=user,
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
    user: User,
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
        user=user,
        kind=CreditEntry.Kind.ADJUST,
        amount=amount,
        actor=actor,
        memo=memo,
        idempotency_key=idempotency_key,
        audit_action="credits.adjusted",
        ip_address=ip_address,
    )


def credits_hold(*, user: User, amount: int, generation) -> CreditEntry | None:
    """Move ``amount`` from available to held for a generation; refuses to overspend."""
    if amount <= 0:
        return None
    return _apply(
        user=user,
        kind=CreditEntry.Kind.HOLD,
        amount=-amount,
        held_change=amount,
        generation=generation,
        idempotency_key=f"hold:{generation.pk}",
    )


def credits_capture(*, user: User, amount: int, generation) -> CreditEntry | None:
    """Spend ``amount`` of a generation's hold (images delivered)."""
    if amount <= 0:
        return None
    return _apply(
        user=user,
        kind=CreditEntry.Kind.CAPTURE,
        amount=0,
        held_change=-amount,
        generation=generation,
        idempotency_key=f"capture:{generation.pk}",
    )


def credits_release(*, user: User, amount: int, generation) -> CreditEntry | None:
    """Return ``amount`` of a generation's hold to available (images not delivered)."""
    if amount <= 0:
        return None
    return _apply(
        user=user,
        kind=CreditEntry.Kind.RELEASE,
        amount=amount,
        held_change=-amount,
        generation=generation,
        idempotency_key=f"release:{generation.pk}",
    )


def _require_memo(memo: str) -> None:
    if not memo.strip():
        raise ValueError("Say why in the memo: it is kept in the ledger and the audit trail.")


def _apply(
    *,
    user: User,
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
    credit_account_for(user)
    with transaction.atomic():
        account = CreditAccount.objects.select_for_update().get(user=user)
        if idempotency_key:
            # Checked under the lock: a concurrent retry of the same change waits and finds it.
            existing = CreditEntry.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                if (existing.account_id, existing.kind, existing.amount, existing.held_change) != (
                    account.pk,
                    kind,
                    amount,
                    held_change,
                ):
                    raise LedgerError(
                        f"The idempotency key {idempotency_key!r} was already used for a "
                        "different credit change; use a new key."
                    )
                return existing
        available = account.available + amount
        held = account.held + held_change
        if available < 0:
            raise InsufficientCredits(needed=-amount, available=account.available)
        if held < 0:
            raise LedgerError(f"{kind} of {-held_change} exceeds the {account.held} held")
        account.available, account.held = available, held
        account.save(update_fields=["available", "held", "updated_at"])
        entry = CreditEntry.objects.create(
            account=account,
            kind=kind,
            amount=amount,
            held_change=held_change,
            available_after=available,
            held_after=held,
            generation=generation,
            actor=actor,
            memo=memo[:500],
            idempotency_key=idempotency_key or None,
        )
        if audit_action:
            audit_record(
                actor=actor,
                action=audit_action,
                target=account,
                before={"available": available - amount},
                after={"available": available, "amount": amount, "memo": memo},
                ip_address=ip_address,
            )
    return entry
