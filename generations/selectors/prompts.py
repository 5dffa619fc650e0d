"""Prompt history: the distinct prompts a user (or a team) has run, each with how often and
the newest generation that ran it, whose settings a "reuse" link carries to the compose form."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db.models import Count, Max, OuterRef, QuerySet, Subquery

from accounts.models import Team, User
from generations.models import Generation
from generations.selectors.generations import prompt_search, team_ids_of


@dataclass(frozen=True)
class PromptRow:
    """One distinct prompt: how many generations ran it, when last, and the newest of them."""

    prompt: str
    runs: int
    last_run: datetime
    latest: Generation | None


def _grouped(queryset: QuerySet[Generation]) -> QuerySet[Any, dict[str, Any]]:
    """``queryset`` grouped by prompt text, newest generation's id alongside (one query).

    Typed loosely on purpose: django-stubs cannot follow annotations through ``values()``."""
    newest = queryset.filter(prompt=OuterRef("prompt")).order_by("-created_at", "-id")
    grouped = queryset.values("prompt").annotate(
        runs=Count("id"),
        last_run=Max("created_at"),
        latest_id=Subquery(newest.values("id")[:1]),
    )
    return cast(QuerySet[Any, dict[str, Any]], grouped)


def prompt_history(*, user: User, text: str = "") -> QuerySet[Any, dict[str, Any]]:
    """The prompts ``user`` has run, newest first; ``text`` as the gallery's search (every word
    anywhere in the prompt). Rows are dicts; ``prompt_rows`` turns a page of them into rows."""
    mine = prompt_search(Generation.objects.filter(owner=user, deleted_at__isnull=True), text)
    return _grouped(mine).order_by("-last_run", "prompt")


def team_prompts_top(*, user: User, team: Team, limit: int) -> list[PromptRow]:
    """The prompts most often run among the generations shared with ``team``, most runs first;
    nothing unless ``user`` is in the team (leaving it ends what it shows)."""
    shared = Generation.objects.filter(
        visibility=Generation.Visibility.TEAM,
        shared_team=team,
        shared_team_id__in=team_ids_of(user),
        deleted_at__isnull=True,
    )
    return prompt_rows(list(_grouped(shared).order_by("-runs", "-last_run", "prompt")[:limit]))


def prompt_rows(grouped: list[dict[str, Any]]) -> list[PromptRow]:
    """Rows of a page of ``prompt_history``, with each newest generation (one query)."""
    latest = Generation.objects.in_bulk([row["latest_id"] for row in grouped])
    return [
        PromptRow(
            prompt=row["prompt"],
            runs=row["runs"],
            last_run=row["last_run"],
            latest=latest.get(row["latest_id"]),
        )
        for row in grouped
    ]
