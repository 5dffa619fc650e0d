from django.conf import settings

from ..models import User
from .credits import credits_grant

SIGNUP_GRANT_MEMO = "Initial credits on signup"


def user_signup_credits_grant(*, user: User, ip_address: str | None) -> None:
    """Grant a self-registered user the configured starting credits (none when 0).

    Called inside the transaction that creates the user (accounts.adapter), so the account and
    its credits exist together or not at all; the idempotency key makes it once per user.
    """
    if settings.SIGNUP_INITIAL_CREDITS > 0:
        credits_grant(
            user=user,
            amount=settings.SIGNUP_INITIAL_CREDITS,
            actor=None,
            memo=SIGNUP_GRANT_MEMO,
            idempotency_key=f"signup:{user.pk}",
            ip_address=ip_address,
        )
