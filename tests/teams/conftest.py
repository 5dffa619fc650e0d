"""A team with one of each role, someone outside it, and staff; spending on its wallet."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Team, User
from accounts.services.credits import team_wallet_for
from generations.models import Generation
from tests.factories import MembershipFactory, TeamFactory, UserFactory
from tests.usage.builders import make_generation


@pytest.fixture
def team(db) -> Team:
    return TeamFactory(name="Design", slug="design", credits=100_000)


def member_of(team: Team, username: str, role: str) -> User:
    user = UserFactory(username=username)
    MembershipFactory(team=team, user=user, role=role)
    return user


@pytest.fixture
def owner(team) -> User:
    return member_of(team, "olga", Membership.Role.OWNER)


@pytest.fixture
def manager(team, owner) -> User:
    return member_of(team, "mona", Membership.Role.MANAGER)


@pytest.fixture
def member(team, owner) -> User:
    return member_of(team, "max", Membership.Role.MEMBER)


@pytest.fixture
def outsider(db) -> User:
    return UserFactory(username="otto")


@pytest.fixture
def staff(db) -> User:
    return UserFactory(username="stella", is_staff=True)


def team_url(team: Team, name: str = "team-detail", *args: object) -> str:
    return reverse(name, args=[team.slug, *args])


def this_month(day: int = 1, hour: int = 10) -> datetime:
    """A time in the current calendar month, not in the future."""
    now = timezone.localtime()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    at = now.replace(day=min(day, now.day), hour=hour, minute=0, second=0, microsecond=0)
    return max(month_start, min(at, now - timedelta(seconds=1)))


def spend(
    team: Team,
    user: User,
    *,
    model: str = "seedream-4.0",
    images: int = 1,
    price: int = 30,
    created_at: datetime | None = None,
    status: str = "succeeded",
) -> Generation:
    """A finished generation of ``user`` charged to the team's wallet."""
    return make_generation(
        owner=user,
        wallet=team_wallet_for(team),
        model=model,
        num_images=images,
        price=price,
        status=status,
        created_at=created_at or this_month(),
    )
