"""Single sign-on (OpenID Connect): who may come in through the identity provider, and as
which account. ``accounts.adapter.SocialAccountAdapter`` asks ``sso_admission_decide`` when a
sign-in is not yet linked to an account, then links (``sso_account_link``) or creates one
(just-in-time, ``sso_account_provision``).

The rule:

* the identity provider must have verified the address (``email_verified``): an address it
  has not checked proves nothing;
* an account whose address is that one is linked to the sign-in. Whoever holds a verified
  address at the identity provider could take the account over by a password-reset mail
  anyway, so the link gives nothing more away;
* otherwise a new account is made for an address on one of the provider's allowed domains,
  or with a pending invitation (which it accepts: its staff flag and credits, as on the
  password page);
* anything else is refused, with a message saying why. Each refusal counts as a failed
  sign-in (accounts.services.login_throttle).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialLogin
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from ..models import Invitation, User
from .audit import audit_record
from .invitations import invitation_accept_for_new_user
from .signup import user_signup_credits_grant

LINKED_ACTION = "user.sso_linked"
CREATED_ACTION = "user.sso_created"


class SsoRefusal(Exception):
    """The identity provider vouched for someone this site does not let in; ``message`` is
    what the sign-in page shows them, ``code`` a stable name for logs and tests."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class SsoAdmission:
    """A sign-in let in: the existing account to link, or None for a new account."""

    email: str
    user: User | None


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _account_for(email: str) -> User | None:
    """The account whose address is ``email``: by a confirmed address first, then by any."""
    addresses = EmailAddress.objects.filter(email__iexact=email).order_by("-verified", "pk")
    address = addresses.select_related("user").first()
    if address is not None:
        return address.user  # type: ignore[return-value]
    return User.objects.filter(Q(email__iexact=email)).order_by("pk").first()


def sso_admission_decide(
    *, email: str | None, email_verified: bool, allowed_domains: Iterable[str]
) -> SsoAdmission:
    """Let the sign-in in (as an existing account or a new one) or raise ``SsoRefusal``."""
    email = (email or "").strip().lower()
    if not email or not email_verified:
        raise SsoRefusal(
            "Your identity provider did not confirm an email address for you, so we cannot "
            "tell which account is yours. Ask its administrator to verify your address.",
            code="email_unverified",
        )
    user = _account_for(email)
    if user is not None:
        if not user.is_active:
            raise SsoRefusal(
                f"The account for {email} is disabled. Ask a staff member.", code="inactive"
            )
        return SsoAdmission(email=email, user=user)
    invited = Invitation.objects.filter(
        email=email, status=Invitation.Status.PENDING, expires_at__gt=timezone.now()
    ).exists()
    if invited or _domain(email) in {domain.lower() for domain in allowed_domains}:
        return SsoAdmission(email=email, user=None)
    raise SsoRefusal(
        f"There is no account for {email} here, and addresses at {_domain(email)} cannot "
        "create one by single sign-on. Ask a staff member of your team for an invitation.",
        code="domain_not_allowed",
    )


def sso_account_link(
    *, request: HttpRequest, sociallogin: SocialLogin, user: User, ip_address: str | None
) -> None:
    """Link the identity provider's account to ``user`` (its address matched), for good:
    later sign-ins find it by the provider's subject. The owner is told by mail."""
    with transaction.atomic():
        sociallogin.connect(request, user)
        audit_record(
            actor=user,
            action=LINKED_ACTION,
            target=user,
            after={"provider": sociallogin.account.provider, "uid": sociallogin.account.uid},
            ip_address=ip_address,
        )


def sso_account_provision(*, user: User, provider: str, ip_address: str | None) -> None:
    """The rest of a just-in-time account, inside the transaction that saved it: its pending
    invitation accepted, or else the starting credits of a self-made account."""
    invited = invitation_accept_for_new_user(user=user, ip_address=ip_address)
    if not invited:
        user_signup_credits_grant(user=user, ip_address=ip_address)
    audit_record(
        actor=user,
        action=CREATED_ACTION,
        target=user,
        after={"provider": provider, "email": user.email, "invited": invited},
        ip_address=ip_address,
    )
