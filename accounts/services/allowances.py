"""Allowances: a recurring grant to a wallet (a team's or a user's), e.g. 20,000 credits on the
1st of each month, written to the ledger by the scheduler (``accounts.grant_allowances``, hourly).

Exactly once per period, however the scheduler runs: each grant is made under a lock on the
allowance's row, which also records the period granted (``last_granted_period``), and its ledger
entry carries the idempotency key ``allowance:<id>:<period start>`` (unique), so a second run,
a concurrent one or a retried one finds the period done and writes nothing.

Periods are those of budgets (``budgets.period_bounds``: calendar days, weeks from Monday and
months in the installation's time zone). A run grants the period it falls in, whenever in the
period it runs: a scheduler that was down on the 1st grants that month's on the 3rd. A period
that passed entirely without a run is not granted afterwards (no back-fill): an allowance tops
up or adds for the period at hand, and a burst of missed grants would only surprise the team.
"""

import datetime
import logging

from django.db import transaction

from ..models import Allowance, CreditAccount, CreditEntry, Period, User
from .audit import audit_record
from .budget_admin import MAX_CREDITS
from .budgets import PeriodBounds, period_bounds
from .credits import credits_grant

logger = logging.getLogger(__name__)

RECURRING_PERIODS = (Period.DAY, Period.WEEK, Period.MONTH)


class AllowanceInvalid(ValueError):
    pass


def allowance_set(
    *,
    wallet: CreditAccount,
    amount: int,
    period: str = Period.MONTH,
    policy: str = Allowance.Policy.ADD,
    actor: User | None,
) -> Allowance:
    """Create or change the wallet's one allowance (and make it active again). A period already
    granted stays granted: the change applies from the next period on."""
    if amount <= 0:
        raise AllowanceInvalid("An allowance must be a positive number of credits.")
    if amount > MAX_CREDITS:
        raise AllowanceInvalid(f"An allowance can be at most {MAX_CREDITS:,} credits.")
    if period not in RECURRING_PERIODS:
        raise AllowanceInvalid(f"The period must be one of {', '.join(RECURRING_PERIODS)}.")
    if policy not in Allowance.Policy.values:
        raise AllowanceInvalid(f"The policy must be one of {', '.join(Allowance.Policy.values)}.")
    with transaction.atomic():
        allowance = Allowance.objects.select_for_update().filter(wallet=wallet).first()
        before = _described(allowance) if allowance else {}
        if allowance is None:
            allowance = Allowance(wallet=wallet, created_by=actor if actor and actor.pk else None)
        allowance.amount, allowance.period, allowance.policy = amount, period, policy
        allowance.active = True
        allowance.save()
        audit_record(
            actor=actor,
            action="allowance.set",
            target=allowance,
            before=before,
            after={"wallet": wallet.owner_label, **_described(allowance)},
        )
    return allowance


def allowance_remove(*, allowance: Allowance, actor: User | None) -> None:
    """Stop the allowance; what it granted stays in the wallet."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="allowance.removed",
            target=allowance,
            before={"wallet": allowance.wallet.owner_label, **_described(allowance)},
        )
        allowance.delete()


def allowances_grant_due(*, at: datetime.datetime | None = None) -> int:
    """Grant every active allowance its current period's credits if not done yet; returns how
    many grants were written to the ledger (a top-up with nothing to add marks its period done
    without an entry). ``at`` (default now) picks the periods; a missed earlier period is not
    back-filled. One allowance that fails is logged and left for the next run."""
    granted = 0
    due = (
        Allowance.objects.filter(active=True)
        .order_by("id")
        .values_list("id", "period", "last_granted_period")
    )
    for allowance_id, period, last_granted in due:
        bounds = period_bounds(period, at)
        if last_granted is not None and last_granted >= bounds.start:
            continue
        try:
            if allowance_grant(allowance_id=allowance_id, at=at) is not None:
                granted += 1
        except Exception:
            logger.exception(
                "allowance %s could not be granted; the next run tries again", allowance_id
            )
    return granted


def allowance_grant(
    *, allowance_id: int, at: datetime.datetime | None = None
) -> CreditEntry | None:
    """Grant one allowance its period's credits, once: the ledger entry written, or None when
    the period was already done, the allowance is inactive, or a top-up found the wallet full.

    Locks the allowance's row (a concurrent run waits, then finds the period done) and then the
    wallet's, so a top-up reads the balance no concurrent spend or release can change before
    its grant lands (the holds lock budget rows and then the wallet: the same order)."""
    with transaction.atomic(durable=True):
        allowance = (
            Allowance.objects.select_for_update().select_related("wallet").get(pk=allowance_id)
        )
        bounds = period_bounds(allowance.period, at)
        done = allowance.last_granted_period
        if not allowance.active or (done is not None and done >= bounds.start):
            return None
        wallet = CreditAccount.objects.select_for_update().get(pk=allowance.wallet_id)
        amount = allowance.amount
        if allowance.policy == Allowance.Policy.TOP_UP:
            amount = max(allowance.amount - wallet.available, 0)
        entry = None
        if amount > 0:
            entry = credits_grant(
                wallet=wallet,
                amount=amount,
                actor=None,
                memo=_memo(allowance, bounds),
                idempotency_key=f"allowance:{allowance.pk}:{bounds.start.isoformat()}",
            )
            audit_record(
                actor=None,
                action="allowance.granted",
                target=allowance,
                before={"available": wallet.available},
                after={
                    "wallet": wallet.owner_label,
                    "granted": amount,
                    "period_start": bounds.start.isoformat(),
                    **_described(allowance),
                },
            )
        allowance.last_granted_period = bounds.start
        allowance.save(update_fields=["last_granted_period"])
    return entry


def _memo(allowance: Allowance, bounds: PeriodBounds) -> str:
    period = allowance.get_period_display().lower()
    if allowance.policy == Allowance.Policy.TOP_UP:
        what = f"top-up to {allowance.amount:,}"
    else:
        what = f"{allowance.amount:,}"
    start = f"{bounds.start.day} {bounds.start:%B %Y}"
    return f"{period.capitalize()} allowance ({what}) for the period from {start}"


def _described(allowance: Allowance) -> dict[str, object]:
    return {"amount": allowance.amount, "period": allowance.period, "policy": allowance.policy}
