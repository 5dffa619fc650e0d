"""How django-allauth fits this platform: who may sign up, how mail is rendered, and what
open signup grants; for single sign-on, who may come in and as which account. allauth calls
these hooks; each one hands the rule to a service."""

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import Provider
from allauth.socialaccount.providers.base.constants import AuthError
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.forms import Form
from django.http import HttpRequest
from django.shortcuts import render

from studio_core.client_ip import client_ip

from .mail import mail_render
from .models import User
from .services.login_throttle import login_failure_record
from .services.signup import user_signup_credits_grant
from .services.sso import (
    SsoRefusal,
    sso_account_link,
    sso_account_provision,
    sso_admission_decide,
)

logger = logging.getLogger(__name__)


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


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Single sign-on: accounts.services.sso decides; a refusal is a page saying why (403)."""

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        if sociallogin.is_existing:  # linked before, found by the provider's subject
            return
        address = next((a for a in sociallogin.email_addresses if a.primary), None) or next(
            iter(sociallogin.email_addresses), None
        )
        app = sociallogin.provider.app
        try:
            admission = sso_admission_decide(
                email=address.email if address else None,
                email_verified=bool(address and address.verified),
                allowed_domains=app.settings.get("allowed_domains") or [],
            )
        except SsoRefusal as refusal:
            login_failure_record(
                login=address.email if address else None, ip_address=client_ip(request)
            )
            logger.info("Single sign-on refused (%s): %s", refusal.code, refusal.message)
            response = render(
                request,
                "socialaccount/sso_refused.html",
                {"message": refusal.message, "provider_name": app.name},
                status=403,
            )
            raise ImmediateHttpResponse(response) from refusal
        if admission.user is not None:
            sso_account_link(
                request=request,
                sociallogin=sociallogin,
                user=admission.user,
                ip_address=client_ip(request),
            )

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # pre_social_login let this sign-in in (an allowed domain or an invitation), whatever
        # SIGNUP_OPEN says about the password signup page.
        return True

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> User:
        """A just-in-time account and what it is owed: both or neither."""
        with transaction.atomic():
            user: User = super().save_user(request, sociallogin, form)
            sso_account_provision(
                user=user, provider=sociallogin.account.provider, ip_address=client_ip(request)
            )
        return user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Provider,
        error: str | None = None,
        exception: Exception | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        """A callback that failed (unknown state, a code refused, an ID token that failed its
        checks) counts as a failed sign-in from this address; one the user cancelled does
        not."""
        if error == AuthError.CANCELLED:
            return
        logger.warning("Single sign-on failed (%s): %r", error, exception)
        login_failure_record(login=None, ip_address=client_ip(request))
