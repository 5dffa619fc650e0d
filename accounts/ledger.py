"""Checks that every credit balance still equals its ledger (a read-only selector).

The invariants (DESIGN §3, §8):

- ``available`` is the sum of the account's entry ``amount``s and ``held`` the sum of their
  ``held_change``s;
- each entry's ``available_after``/``held_after`` is the previous entry's (by id) plus its own
  change, starting from zero;
- a generation's open hold (the sum of its entries' ``held_change``) is never negative and is
  zero once the generation is terminal, and an account's open holds add up to its ``held``.

The check reads in a fixed number of queries however many accounts and entries there are.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Sum

from .models import CreditAccount, CreditEntry

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
    user_id: int
    username: str
    problem: str

    def __str__(self) -> str:
        return f"{self.username} (user {self.user_id}): {self.problem}"


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
        accounts = list(
            CreditAccount.objects.order_by("user_id").values_list(
                "user_id", "user__username", "available", "held"
            )
        )
        entry_sums = {
            row["account_id"]: (row["amount_sum"], row["held_sum"])
            for row in CreditEntry.objects.order_by()
            .values("account_id")
            .annotate(amount_sum=Sum("amount"), held_sum=Sum("held_change"))
        }
        open_holds = list(
            CreditEntry.objects.filter(generation__isnull=False)
            .order_by()
            .values("account_id", "generation_id", "generation__status")
            .annotate(open_hold=Sum("held_change"))
        )
        chain_problems = _chain_problems()

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
    for user_id, username, available, held in accounts:
        amount_sum, held_sum = entry_sums.get(user_id, (0, 0))
        account_problems = []
        if available != amount_sum:
            account_problems.append(
                f"available is {available} but its entries add up to {amount_sum}"
            )
        if held != held_sum:
            account_problems.append(f"held is {held} but its entries add up to {held_sum}")
        if held != open_hold_totals[user_id]:
            account_problems.append(
                f"held is {held} but its generations' open holds add up to "
                f"{open_hold_totals[user_id]}"
            )
        account_problems.extend(problems[user_id])
        mismatches.extend(
            LedgerMismatch(user_id=user_id, username=username, problem=problem)
            for problem in account_problems
        )
    return LedgerReport(accounts_checked=len(accounts), mismatches=mismatches)


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
