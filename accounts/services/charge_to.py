"""Which wallet the compose page charges by default: remembered per user."""

from ..models import Team, User


def charge_to_remember(*, user: User, team: Team | None) -> None:
    """Keep ``team`` (None: the user's own wallet) as the user's "Charge to" choice; one UPDATE,
    and none when it is already the choice."""
    team_id = team.pk if team is not None else None
    if user.charge_to_id == team_id:
        return
    User.objects.filter(pk=user.pk).update(charge_to=team)
    user.charge_to = team
