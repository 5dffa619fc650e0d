"""How django-allauth fits this platform: who may sign up, how mail is rendered, and what
open signup grants. allauth calls these hooks; each one hands the rule to a service."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.forms import Form
from django.http import HttpRequest

from studio_core.client_ip import client_ip

from .mail import mail_render
from .models import User
from .services.signup import user_signup_credits_grant


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Invitations do not pass through allauth's signup: they have their own page.
        return settings.SIGNUP_OPEN

    def get_client_ip(self, request: HttpRequest) -> str:
        # The address the audit trail and the throttle record, also on the sessions page.
        return client_ip(request) or ""

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        # One renderer for every mail: a text and an HTML part, naming the installation.
        return mail_render(
            template_prefix=template_prefix,
            to=[email] if isinstance(email, str) else list(email),
            context=context,
            request=context.get("request"),
            headers=headers,
        )

    def save_user(self, request: HttpRequest, user: Any, form: Form, commit: bool = True) -> User:
        """An account from open signup, and its starting credits: both or neither."""
        if not commit:
            return super().save_user(request, user, form, commit=False)
        with transaction.atomic():
            saved = super().save_user(request, user, form, commit=True)
            user_signup_credits_grant(user=saved, ip_address=client_ip(request))
        return saved
