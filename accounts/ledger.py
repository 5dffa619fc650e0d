"""Checks that every credit balance still equals its ledger (a read-only selector).

The invariants (DESIGN §3, §8):

- ``available`` is the sum of the account's entry ``amount``s and ``held`` the sum of their
  ``held_change``s;
- each entry's ``available_after``/``held_after`` is the previous entry's (by id) plus its own
  change, starting from zero;
- a generation's open hold (the sum of its entries' ``held_change``) is never negative and is
  zero once the generation is terminal, and an account's open holds add up to its ``held``;
- every generation's entries are on the wallet the generation records;
- a budget period's ``spent`` is what its generations held there less what came back, and a
  finished generation keeps there exactly what it was charged;
- an allowance's grants are on its own wallet, at most one per period.

The check reads in a fixed number of queries however many accounts and entries there are.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, Sum

from .models import Allowance, BudgetHold, BudgetSpend, CreditAccount, CreditEntry

# The statuses of a generation that holds nothing any more. The app that owns generations
# registers them when it is ready (``register_terminal_statuses``): ``accounts`` does not
# import ``generations``. Until then no status counts as terminal.
_terminal_statuses: set[str] = set()


def register_terminal_statuses(statuses: Iterable[str]) -> None:
    _terminal_statuses.clear()
    _terminal_statuses.update(statuses)


# Entries are streamed in id order in batches of this size, so memory stays flat on big ledgers.
ENTRY_BATCH_SIZE = 2000


@dataclass(frozen=True)
class LedgerMismatch:
    wallet_id: int | None  # None: a budget's or an allowance's problem
    owner: str
    problem: str

    def __str__(self) -> str:
        where = f" (wallet {self.wallet_id})" if self.wallet_id is not None else ""
        return f"{self.owner}{where}: {self.problem}"


@dataclass(frozen=True)
class LedgerReport:
    accounts_checked: int
    mismatches: list[LedgerMismatch]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def ledger_mismatches() -> list[LedgerMismatch]:
    return ledger_check().mismatches


def ledger_check() -> LedgerReport:
    with _consistent_snapshot():
        accounts = [
            (pk, f"Team {team}" if team else str(username), available, held)
            for pk, username, team, available, held in CreditAccount.objects.order_by(
                "id"
            ).values_list("id", "user__username", "team__name", "available", "held")
        ]
        entry_sums = {
            row["account_id"]: (row["amount_sum"], row["held_sum"])
            for row in CreditEntry.objects.order_by()
            .values("account_id")
            .annotate(amount_sum=Sum("amount"), held_sum=Sum("held_change"))
        }
        open_holds = list(
            CreditEntry.objects.filter(generation__isnull=False)
            .order_by()
            .values("account_id", "generation_id", "generation__status", "generation__wallet_id")
            .annotate(open_hold=Sum("held_change"))
        )
        chain_problems = _chain_problems()
        budget_problems = _budget_problems()
        allowance_problems = _allowance_problems()

    problems: dict[int, list[str]] = defaultdict(list)
    for account_id, problem in chain_problems:
        problems[account_id].append(problem)

    open_hold_totals: dict[int, int] = defaultdict(int)
    for row in open_holds:
        account_id, generation_id, open_hold = (
            row["account_id"],
            row["generation_id"],
            row["open_hold"],
        )
        open_hold_totals[account_id] += open_hold
        if row["generation__wallet_id"] != account_id:
            problems[account_id].append(
                f"generation {generation_id} is charged to wallet {row['generation__wallet_id']} "
                "but has entries on this one"
            )
        if open_hold < 0:
            problems[account_id].append(
                f"generation {generation_id} released or captured {-open_hold} more than it held"
            )
        elif open_hold and row["generation__status"] in _terminal_statuses:
            problems[account_id].append(
                f"generation {generation_id} is {row['generation__status']} "
                f"but still holds {open_hold}"
            )

    mismatches: list[LedgerMismatch] = []
    for wallet_id, owner, available, held in accounts:
        amount_sum, held_sum = entry_sums.get(wallet_id, (0, 0))
        account_problems = []
        if available != amount_sum:
            account_problems.append(
                f"available is {available} but its entries add up to {amount_sum}"
            )
        if held != held_sum:
            account_problems.append(f"held is {held} but its entries add up to {held_sum}")
        if held != open_hold_totals[wallet_id]:
            account_problems.append(
                f"held is {held} but its generations' open holds add up to "
                f"{open_hold_totals[wallet_id]}"
            )
        account_problems.extend(problems[wallet_id])
        mismatches.extend(
            LedgerMismatch(wallet_id=wallet_id, owner=owner, problem=problem)
            for problem in account_problems
        )
    mismatches.extend(budget_problems)
    mismatches.extend(allowance_problems)
    return LedgerReport(accounts_checked=len(accounts), mismatches=mismatches)


def _budget_problems() -> list[LedgerMismatch]:
    """Budget periods whose ``spent`` is not what their generations' holds say."""
    holds = {
        row["spend_id"]: row["net"]
        for row in BudgetHold.objects.order_by()
        .values("spend_id")
        .annotate(net=Sum(F("held") - F("released")))
    }
    problems = []
    for spend_id, budget_id, period_start, spent in BudgetSpend.objects.order_by("id").values_list(
        "id", "budget_id", "period_start", "spent"
    ):
        net = holds.get(spend_id) or 0
        if spent != net:
            problems.append(
                LedgerMismatch(
                    wallet_id=None,
                    owner=f"budget {budget_id}, period from {period_start}",
                    problem=f"spent is {spent} but its generations' holds add up to {net}",
                )
            )
    finished = (
        BudgetHold.objects.filter(generation__status__in=_terminal_statuses)
        .exclude(held=F("released") + F("generation__credits_charged"))
        .values_list("spend__budget_id", "generation_id", "held", "released")
    )
    for budget_id, generation_id, held, released in finished:
        problems.append(
            LedgerMismatch(
                wallet_id=None,
                owner=f"budget {budget_id}",
                problem=(
                    f"generation {generation_id} is finished but keeps {held - released} of "
                    "the budget, not what it was charged"
                ),
            )
        )
    return problems


def _allowance_problems() -> list[LedgerMismatch]:
    """Allowance grants on another wallet than the allowance's (their keys name the allowance:
    ``allowance:<id>:<period start>``, unique, so one grant per period at most)."""
    wallets = dict(Allowance.objects.values_list("id", "wallet_id"))
    problems = []
    grants = CreditEntry.objects.filter(idempotency_key__startswith="allowance:").values_list(
        "id", "account_id", "idempotency_key"
    )
    for entry_id, account_id, key in grants:
        allowance_id = int(str(key).split(":")[1])
        if wallets.get(allowance_id, account_id) != account_id:
            problems.append(
                LedgerMismatch(
                    wallet_id=account_id,
                    owner=f"allowance {allowance_id}",
                    problem=f"entry {entry_id} grants to this wallet, not the allowance's",
                )
            )
    return problems


def _chain_problems() -> list[tuple[int, str]]:
    """Entries whose balance-after does not follow from the entry before them on the account."""
    last_after: dict[int, tuple[int, int]] = {}
    problems: list[tuple[int, str]] = []
    entries = (
        CreditEntry.objects.order_by("id")
        .values_list("id", "account_id", "amount", "held_change", "available_after", "held_after")
        .iterator(chunk_size=ENTRY_BATCH_SIZE)
    )
    for entry_id, account_id, amount, held_change, available_after, held_after in entries:
        previous_available, previous_held = last_after.get(account_id, (0, 0))
        expected = (previous_available + amount, previous_held + held_change)
        if (available_after, held_after) != expected:
            problems.append(
                (
                    account_id,
                    f"entry {entry_id} records {available_after} available / {held_after} held "
                    f"after it, but the entry before it and its change give "
                    f"{expected[0]} / {expected[1]}",
                )
            )
        # Continue from what the entry recorded: a bad entry is then reported at most twice (as
        # itself and as the one before the next), never again for every entry after it.
        last_after[account_id] = (available_after, held_after)
    return problems


@contextmanager
def _consistent_snapshot() -> Iterator[None]:
    """Run the check's queries against one snapshot of the database.

    The queries are separate statements; under PostgreSQL's default READ COMMITTED each would see
    the holds committed since the one before, and a live platform would show false mismatches.
    REPEATABLE READ gives all of them the snapshot of the first. SQLite already reads one
    snapshot inside a transaction. Inside a caller's transaction (tests, or a caller that chose
    its own isolation) the level can no longer be set, so it is left as it is.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield
