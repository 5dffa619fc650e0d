"""How many generations may run at once, per user, per API key and per team.

Fairness between teammates, not a rate limit: a submit over a limit is refused with ``429`` and
a ``Retry-After``, and nothing is held. The count is taken under a row lock on whatever has the
limit (the user, the key, the team), inside the submit's transaction, so concurrent submits
queue on it and can never start one more than the limit.
"""

from django.conf import settings

from accounts.models import ApiKey, Team, User
from generations.models import Generation
from studio_core.errors import ServiceError

ACTIVE_STATUSES = (Generation.Status.QUEUED, Generation.Status.RUNNING)


class TooManyRunning(ServiceError):
    code = "too_many_running"
    status = 429

    def __init__(self, message: str, *, running: int, limit: int, scope: str) -> None:
        retry_after = settings.RUNNING_LIMIT_RETRY_AFTER_S
        super().__init__(
            message,
            details={
                "running": running,
                "limit": limit,
                "scope": scope,
                "retry_after": retry_after,
            },
        )
        self.headers = {"Retry-After": str(retry_after)}


def running_limits_check(*, user: User, api_key: ApiKey | None, team: Team | None) -> None:
    """Refuse a new generation when one of the limits that apply is reached; call it inside the
    submit's transaction (the locks it takes last until the generation is written)."""
    if user.max_running is not None:
        User.objects.select_for_update().filter(pk=user.pk).first()
        running = Generation.objects.filter(owner=user, status__in=ACTIVE_STATUSES).count()
        if running >= user.max_running:
            raise TooManyRunning(
                f"{running} of your generations are running; the limit is {user.max_running}. "
                "Wait for one to finish.",
                running=running,
                limit=user.max_running,
                scope="user",
            )
    if api_key is not None and api_key.max_running is not None:
        ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()
        running = Generation.objects.filter(api_key=api_key, status__in=ACTIVE_STATUSES).count()
        if running >= api_key.max_running:
            raise TooManyRunning(
                f"{running} generations made with API key “{api_key.name}” are running; its "
                f"limit is {api_key.max_running}. Wait for one to finish.",
                running=running,
                limit=api_key.max_running,
                scope="key",
            )
    if team is not None and team.max_running is not None:
        Team.objects.select_for_update().filter(pk=team.pk).first()
        running = Generation.objects.filter(wallet__team=team, status__in=ACTIVE_STATUSES).count()
        if running >= team.max_running:
            raise TooManyRunning(
                f"{running} of team {team}'s generations are running; the team's limit is "
                f"{team.max_running}. Wait for one to finish.",
                running=running,
                limit=team.max_running,
                scope="team",
            )
