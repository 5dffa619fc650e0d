from django.conf import settings
from django.db import transaction

from ..models import User
from .credits import credits_grant

SIGNUP_GRANT_MEMO = "Initial credits on signup"


def user_signup(*, username: str, email: str, password: str, ip_address: str | None) -> User:
    """Create a self-registered user with the configured starting credits: both or neither."""
    with transaction.atomic(durable=True):
        user = User.objects.create_user(username=username, email=email, password=password)
        if settings.SIGNUP_INITIAL_CREDITS > 0:
            credits_grant(
                user=user,
                amount=settings.SIGNUP_INITIAL_CREDITS,
                actor=None,
                memo=SIGNUP_GRANT_MEMO,
                idempotency_key=f"signup:{user.pk}",
                ip_address=ip_address,
            )
    return user
