"""Teams: who belongs, in which role, and which wallet a request is charged to.

Staff create teams (admin, ``manage.py team``); a team's owners and managers manage its
members, budgets and policy on its pages. Every change is in the audit trail.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from studio_core.errors import ServiceError

from ..models import ApiKey, CreditAccount, CreditEntry, Membership, Team, User
from .audit import audit_record
from .credits import credit_account_for, credits_grant, team_wallet_for
from .policies import policy_validate

ROLES = tuple(Membership.Role.values)


class TeamError(ServiceError):
    code = "invalid_team"


class TeamNotFound(ServiceError):
    """A team named in a request that the caller is not a member of (or that does not exist:
    the answer is the same, so it tells no one which teams exist). A 400: it is a field of the
    request that is wrong, not the address asked for."""

    code = "team_not_found"
    status = 400


class NotATeamManager(ServiceError):
    code = "permission_denied"
    status = 403


def team_create(*, name: str, slug: str = "", actor: User | None) -> Team:
    name = name.strip()
    if not name:
        raise TeamError("A team needs a name.", field="name")
    slug = slugify(slug or name)[:50]
    if not slug:
        raise TeamError("The team's address needs letters or digits (e.g. design).", field="slug")
    try:
        with transaction.atomic():
            team = Team.objects.create(name=name, slug=slug)
            CreditAccount.objects.create(team=team)
            audit_record(actor=actor, action="team.created", target=team, after={"slug": slug})
    except IntegrityError as error:
        raise TeamError(
            f"There is already a team at /teams/{slug}/; choose another address.", field="slug"
        ) from error
    return team


def team_by_slug(slug: str) -> Team:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise TeamNotFound(f"There is no team “{slug}”.")
    return team


def membership_of(*, team: Team, user: User) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    return Membership.objects.filter(team=team, user=user).first()


def team_can_manage(*, team: Team, user: User) -> bool:
    """Owners and managers of the team, and staff, manage its members, budgets and policy."""
    if user.is_staff:
        return True
    membership = membership_of(team=team, user=user)
    return membership is not None and membership.manages


def team_manage_check(*, team: Team, user: User) -> None:
    if not team_can_manage(team=team, user=user):
        raise NotATeamManager(f"Only owners and managers of team {team} can change it.")


def team_member_set(*, team: Team, user: User, role: str, actor: User | None) -> Membership:
    """Add ``user`` to the team with ``role``, or change their role.

    Only an owner (or staff, or the installation itself: ``actor=None``) makes someone an
    owner or changes an owner's role; a manager manages the other members."""
    if role not in ROLES:
        raise TeamError(f"The role must be one of {', '.join(ROLES)}.", field="role")
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)  # membership changes queue per team
        membership = Membership.objects.filter(team=team, user=user).first()
        before = membership.role if membership else None
        if Membership.Role.OWNER in (before, role) and before != role:
            _owner_check(team=team, actor=actor)
        if membership is None:
            membership = Membership.objects.create(team=team, user=user, role=role)
        elif membership.role != role:
            _keep_an_owner(team=team, leaving=membership)
            membership.role = role
            membership.save(update_fields=["role"])
        audit_record(
            actor=actor,
            action="team.member_set",
            target=team,
            before={"user": user.get_username(), "role": before},
            after={"user": user.get_username(), "role": role},
        )
    return membership


def team_member_remove(*, team: Team, user: User, actor: User | None) -> None:
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        membership = Membership.objects.filter(team=team, user=user).first()
        if membership is None:
            raise TeamError(f"{user} is not a member of team {team}.")
        if membership.role == Membership.Role.OWNER:
            _owner_check(team=team, actor=actor)
        _keep_an_owner(team=team, leaving=membership)
        membership.delete()
        audit_record(
            actor=actor,
            action="team.member_removed",
            target=team,
            before={"user": user.get_username(), "role": membership.role},
        )


def _keep_an_owner(*, team: Team, leaving: Membership) -> None:
    if leaving.role != Membership.Role.OWNER:
        return
    owners = Membership.objects.filter(team=team, role=Membership.Role.OWNER).count()
    if owners <= 1:
        raise TeamError(
            f"{leaving.user} is the last owner of team {team}; make someone else owner first."
        )


class OwnersOnly(ServiceError):
    code = "permission_denied"
    status = 403


def _owner_check(*, team: Team, actor: User | None) -> None:
    if actor is None or actor.is_staff:
        return
    mine = Membership.objects.filter(team=team, user=actor).values_list("role", flat=True).first()
    if mine != Membership.Role.OWNER:
        raise OwnersOnly(
            f"Only an owner of team {team} can make someone an owner, or change or remove an "
            "owner. Ask one of the team's owners.",
            field="role",
        )


def team_grant(
    *,
    team: Team,
    amount: int,
    actor: User | None,
    memo: str,
    idempotency_key: str | None = None,
    ip_address: str | None = None,
) -> CreditEntry:
    return credits_grant(
        wallet=team_wallet_for(team),
        amount=amount,
        actor=actor,
        memo=memo,
        idempotency_key=idempotency_key,
        ip_address=ip_address,
    )


class TeamPolicyInvalid(ServiceError):
    """A team policy that cannot be saved; ``field_errors`` has a message per field."""

    code = "invalid_policy"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first = next(iter(errors))
        super().__init__(errors[first][0], field=first, details=errors)
        self.errors = errors

    @property
    def field_errors(self) -> dict[str, list[str]]:
        return self.errors


POLICY_FIELDS = ("allowed_models", "max_size_tier", "max_images_per_request", "max_running")


def team_policy_set(
    *,
    team: Team,
    actor: User | None,
    allowed_models: Sequence[str],
    max_size_tier: str,
    max_images_per_request: int | None,
    max_running: int | None,
    known_models: Iterable[str],
) -> Team:
    """Change what the team's generations may ask for; empty values allow everything.

    ``known_models`` are the catalog's model ids (the catalog lives above this app)."""
    errors = policy_validate(
        allowed_models=allowed_models,
        max_size_tier=max_size_tier,
        known=known_models,
        max_images_per_request=max_images_per_request,
        max_running=max_running,
    )
    if errors:
        raise TeamPolicyInvalid(errors)
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        before = {name: getattr(locked, name) for name in POLICY_FIELDS}
        locked.allowed_models = list(dict.fromkeys(allowed_models))
        locked.max_size_tier = max_size_tier
        locked.max_images_per_request = max_images_per_request
        locked.max_running = max_running
        locked.save(update_fields=list(POLICY_FIELDS))
        after = {name: getattr(locked, name) for name in POLICY_FIELDS}
        audit_record(
            actor=actor, action="team.policy_set", target=locked, before=before, after=after
        )
    return locked


def team_webhook_set(*, team: Team, actor: User | None, url: str) -> Team:
    """Set (or, with ``""``, remove) where the team's budget alerts are posted.

    The caller vets ``url`` first (``generations.messaging.webhooks.webhook_validate``, the
    same check as a generation's webhook); the signing secret is made on first delivery."""
    url = url.strip()
    with transaction.atomic():
        locked = Team.objects.select_for_update().get(pk=team.pk)
        before = locked.webhook_url
        locked.webhook_url = url
        locked.save(update_fields=["webhook_url"])
        audit_record(
            actor=actor,
            action="team.webhook_set",
            target=locked,
            before={"webhook_url": before},
            after={"webhook_url": url},
        )
    return locked


def teams_of(user: User) -> list[Team]:
    if user is None or not user.is_authenticated:
        return []
    return list(Team.objects.filter(memberships__user=user).order_by("name", "id"))


def wallet_for_request(
    *, user: User, team_slug: str | None = None, api_key: ApiKey | None = None
) -> CreditAccount:
    """The wallet a request is charged to: the key's team when the key is bound to one, else
    the team named (the caller must be a member), else the caller's own wallet. A team's
    wallet comes with its team (one query, which also proves the membership)."""
    team_slug = (team_slug or "").strip() or None
    if api_key is not None and api_key.team_id is not None:
        wallet = _member_wallet(user=user, pk=api_key.team_id)
        if wallet is None:
            team = Team.objects.get(pk=api_key.team_id)
            raise NotATeamManager(
                f"This API key is bound to team {team}, which you are no longer a member of. "
                "Use another key.",
            )
        assert wallet.team is not None
        if team_slug is not None and team_slug != wallet.team.slug:
            raise TeamError(
                f"This API key is bound to team {wallet.team} and always charges it; leave out "
                f"“team” or send “{wallet.team.slug}”.",
                field="team",
            )
        return wallet
    if team_slug is None:
        return credit_account_for(user)
    named = _member_wallet(user=user, slug=team_slug)
    if named is None:
        yours = ", ".join(mine.slug for mine in teams_of(user)) or "none"
        raise TeamNotFound(
            f"You are not a member of a team “{team_slug}” (your teams: {yours}).",
            field="team",
        )
    return named


def _member_wallet(*, user: User, **team: Any) -> CreditAccount | None:
    """The wallet of the team matching ``team`` (``pk=`` or ``slug=``) when ``user`` is a
    member of it, else None."""
    wallets = CreditAccount.objects.select_related("team")
    wallet = wallets.filter(
        team__memberships__user=user, **{f"team__{key}": value for key, value in team.items()}
    ).first()
    if wallet is None:
        # A team made without its wallet (a row written by hand) gets it on first use.
        member_of = Team.objects.filter(memberships__user=user, **team).first()
        if member_of is not None:
            wallet = team_wallet_for(member_of)
    return wallet
