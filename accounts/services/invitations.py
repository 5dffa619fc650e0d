"""Invitations: staff offer an account by mail; the invitee accepts once, before it expires.

Each step writes an audit event. The mail leaves after the transaction commits, from a task
(``accounts.tasks.invitation_send_task``), with a link signed over the invitation's id and
``send_count``: a resend makes every earlier link useless, and acceptance, revocation or the
expiry time (``INVITE_TTL_DAYS``) close them all. An invitation may name a team and a role in
it: accepting makes the new account a member, added by the inviter.
"""

from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from celery import current_app
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ..mail import mail_send
from ..models import Invitation, Team, User
from .audit import audit_record
from .credits import credits_grant
from .teams import ROLES, team_member_set

TOKEN_SALT = "accounts.invitation"  # noqa: S105  (a signing namespace, not a secret)
INVITATION_GRANT_MEMO = "Credits on accepting the invitation"


class InvitationError(ValueError):
    """An invitation cannot be made, sent, revoked or accepted; the message says why."""


@dataclass(frozen=True)
class InviteOutcome:
    email: str
    invitation: Invitation | None
    refused: str = ""  # why no invitation was made for this address


def _normalised(email: str) -> str:
    return email.strip().lower()


def invitation_token(*, invitation: Invitation) -> str:
    return signing.dumps({"id": invitation.pk, "sent": invitation.send_count}, salt=TOKEN_SALT)


def invitation_for_token(*, token: str) -> Invitation | None:
    """The open invitation ``token`` was made for; None if forged, superseded, used, revoked
    or expired."""
    try:
        carried = signing.loads(token, salt=TOKEN_SALT)
        invitation = Invitation.objects.get(pk=int(carried["id"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Invitation.DoesNotExist):
        return None
    if invitation.send_count != carried.get("sent") or not invitation.is_open(now=timezone.now()):
        return None
    return invitation


def invitation_accept_path(*, invitation: Invitation) -> str:
    return reverse("invitation-accept", args=[invitation_token(invitation=invitation)])


def _refusal(email: str) -> str:
    if (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    ):
        return "already has an account"
    if Invitation.objects.filter(email=email, status=Invitation.Status.PENDING).exists():
        return "already has a pending invitation (resend it instead)"
    return ""


# The mail task, sent by name: services do not import the task modules that import them.
INVITATION_SEND_TASK = "accounts.send_invitation"


def _schedule_send(*, invitation: Invitation, base_url: str) -> None:
    """Mail the invitation from a worker once the transaction commits. Robust: a broker out of
    reach leaves the invitation pending (resend mails it), never undoes it."""
    transaction.on_commit(
        lambda: current_app.tasks[INVITATION_SEND_TASK].apply_async(
            kwargs={"invitation_id": invitation.pk, "base_url": base_url}
        ),
        robust=True,
    )


def invitations_create(
    *,
    emails: list[str],
    invited_by: User | None,
    is_staff: bool = False,
    credits: int = 0,
    team: Team | None = None,
    team_role: str = "member",
    base_url: str,
    ip_address: str | None = None,
) -> list[InviteOutcome]:
    """Invite each address (duplicates in ``emails`` once); an address that already has an
    account or a pending invitation is refused, the others invited. Mails leave after commit.
    With ``team``, each new account joins it in ``team_role`` on acceptance.
    """
    if credits < 0:
        raise InvitationError("Credits on acceptance cannot be negative.")
    if team_role not in ROLES:
        raise InvitationError(f"The role in the team must be one of {', '.join(ROLES)}.")
    outcomes: list[InviteOutcome] = []
    seen: set[str] = set()
    now = timezone.now()
    with transaction.atomic(durable=True):
        for raw in emails:
            email = _normalised(raw)
            if not email or email in seen:
                continue
            seen.add(email)
            refused = _refusal(email)
            if refused:
                outcomes.append(InviteOutcome(email=email, invitation=None, refused=refused))
                continue
            try:
                with transaction.atomic():
                    invitation = Invitation.objects.create(
                        email=email,
                        is_staff=is_staff,
                        credits=credits,
                        team=team,
                        team_role=team_role,
                        invited_by=invited_by,
                        expires_at=now + timedelta(days=settings.INVITE_TTL_DAYS),
                    )
            except IntegrityError:  # invited meanwhile by someone else
                outcomes.append(
                    InviteOutcome(email=email, invitation=None, refused=_refusal(email))
                )
                continue
            audit_record(
                actor=invited_by,
                action="invitation.created",
                target=invitation,
                after={
                    "email": email,
                    "is_staff": is_staff,
                    "credits": credits,
                    "team": team.slug if team else None,
                    "team_role": team_role if team else None,
                },
                ip_address=ip_address,
            )
            _schedule_send(invitation=invitation, base_url=base_url)
            outcomes.append(InviteOutcome(email=email, invitation=invitation))
    return outcomes


def invitation_mark_sent(*, invitation_id: int) -> Invitation | None:
    """Count one more sending and restart the expiry; None if the invitation is no longer
    pending (revoked or accepted before its mail left)."""
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(pk=invitation_id, status=Invitation.Status.PENDING)
            .first()
        )
        if invitation is None:
            return None
        now = timezone.now()
        invitation.send_count += 1
        invitation.sent_at = now
        invitation.expires_at = now + timedelta(days=settings.INVITE_TTL_DAYS)
        invitation.save(update_fields=["send_count", "sent_at", "expires_at"])
    return invitation


def invitation_resend(
    *, invitation: Invitation, actor: User | None, base_url: str, ip_address: str | None = None
) -> None:
    """Mail the invitation again, with a new link and a new expiry; earlier links stop working."""
    with transaction.atomic(durable=True):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.status != Invitation.Status.PENDING:
            raise InvitationError(f"The invitation for {locked.email} is {locked.status}.")
        audit_record(
            actor=actor,
            action="invitation.resent",
            target=locked,
            after={"email": locked.email},
            ip_address=ip_address,
        )
        _schedule_send(invitation=locked, base_url=base_url)


def invitation_revoke(
    *, invitation: Invitation, actor: User | None, ip_address: str | None = None
) -> None:
    """Close a pending invitation: its link no longer works. Revoking twice is harmless."""
    with transaction.atomic(durable=True):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.status == Invitation.Status.REVOKED:
            return
        if locked.status != Invitation.Status.PENDING:
            raise InvitationError(f"The invitation for {locked.email} is {locked.status}.")
        locked.status = Invitation.Status.REVOKED
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["status", "revoked_at"])
        audit_record(
            actor=actor,
            action="invitation.revoked",
            target=locked,
            before={"status": Invitation.Status.PENDING},
            after={"status": Invitation.Status.REVOKED},
            ip_address=ip_address,
        )
    invitation.status, invitation.revoked_at = locked.status, locked.revoked_at


def invitation_accept(
    *, invitation: Invitation, username: str, password: str, ip_address: str | None = None
) -> User:
    """Create the invitee's account with a confirmed address, grant the invitation's credits
    (one ledger entry) and close the invitation: all of it or nothing, once.

    The invitation row is locked first: two acceptances of one link at once make one account.
    """
    with transaction.atomic(durable=True):
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not locked.is_open(now=timezone.now()) or locked.send_count != invitation.send_count:
            raise InvitationError("This invitation link has been used, revoked or has expired.")
        if User.objects.filter(username__iexact=username).exists():
            raise InvitationError("That username is taken; choose another.")
        user = User(username=username, email=locked.email, is_staff=locked.is_staff)
        validate_password(password, user)
        user.set_password(password)
        user.save()
        EmailAddress.objects.create(user=user, email=locked.email, verified=True, primary=True)
        _invitation_close(invitation=locked, user=user, ip_address=ip_address)
    return user


def invitation_accept_for_new_user(*, user: User, ip_address: str | None = None) -> bool:
    """Accept the open invitation for the address of ``user``, an account just made by single
    sign-on: the invitation's staff flag and credits, as a password acceptance gives them.
    False when that address has no open invitation. Call it inside the transaction that
    creates the account, so both stay or go together; the invitation row is locked, so one
    invitation makes one account."""
    locked = (
        Invitation.objects.select_for_update()
        .filter(email=_normalised(user.email), status=Invitation.Status.PENDING)
        .first()
    )
    if locked is None or not locked.is_open(now=timezone.now()):
        return False
    if locked.is_staff and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    _invitation_close(invitation=locked, user=user, ip_address=ip_address)
    return True


def _invitation_close(*, invitation: Invitation, user: User, ip_address: str | None) -> None:
    """Grant the (locked) invitation's credits to ``user``, add them to its team (as its
    inviter would) and mark it accepted by them."""
    if invitation.team is not None:
        team_member_set(
            team=invitation.team,
            user=user,
            role=invitation.team_role,
            actor=invitation.invited_by,
        )
    if invitation.credits:
        credits_grant(
            user=user,
            amount=invitation.credits,
            actor=invitation.invited_by,
            memo=INVITATION_GRANT_MEMO,
            idempotency_key=f"invitation:{invitation.pk}",
            ip_address=ip_address,
        )
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["status", "accepted_at", "accepted_user"])
    audit_record(
        actor=user,
        action="invitation.accepted",
        target=invitation,
        after={
            "user": user.username,
            "is_staff": user.is_staff,
            "credits": invitation.credits,
            "team": invitation.team.slug if invitation.team else None,
        },
        ip_address=ip_address,
    )


def invitation_send(*, invitation_id: int, base_url: str) -> bool:
    """Mail the invitation with a fresh link; False (nothing sent) if it is no longer pending."""
    invitation = invitation_mark_sent(invitation_id=invitation_id)
    if invitation is None:
        return False
    inviter = invitation.invited_by
    mail_send(
        template_prefix="accounts/email/invitation",
        to=[invitation.email],
        context={
            "invitation": invitation,
            "inviter": inviter.get_full_name() or inviter.get_username() if inviter else "",
            "accept_url": base_url.rstrip("/") + invitation_accept_path(invitation=invitation),
            "expires_at": invitation.expires_at,
        },
    )
    return True
