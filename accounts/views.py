"""Account pages: API keys, the credit ledger, sign-in, signup and invitations. Each view
translates the request, calls one service or selector, and renders; the rules live in
``accounts.services`` (sign-in itself is django-allauth's, wrapped here)."""

import json
from collections.abc import Callable
from functools import wraps
from itertools import groupby
from operator import itemgetter
from urllib.parse import urlencode

from allauth.account import views as allauth_views
from allauth.account.stages import LoginStageController
from allauth.mfa.base import views as mfa_views
from allauth.mfa.stages import AuthenticateStage
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio_core.client_ip import client_ip
from studio_core.errors import ServiceError

from .forms import (
    ApiKeyBudgetForm,
    ApiKeyCreateForm,
    ApiKeyPolicyForm,
    InvitationAcceptForm,
    LedgerFilterForm,
)
from .models import ApiKey, User
from .oidc.form_action import form_action_allow_providers
from .selectors import (
    api_key_budget_standing,
    api_key_get_manageable,
    api_key_get_owned,
    api_key_list,
    credit_balance_get,
    credit_day_totals,
    credit_history_list,
    personal_budget_standing,
    team_standings_of,
)
from .services.invitations import InvitationError, invitation_accept, invitation_for_token
from .services.keys import (
    IssuedKey,
    api_key_budget_remove,
    api_key_budget_set,
    api_key_create,
    api_key_policy_set,
    api_key_revoke,
    api_key_team_for,
)
from .services.login_throttle import login_lockout_remaining
from .services.teams import teams_of
from .services.webhook_secret import webhook_secret_get, webhook_secret_rotate

LEDGER_PAGE_SIZE = 25
# The keys page's form "action" that rotates the webhook secret instead of creating a key.
WEBHOOK_ROTATE_ACTION = "rotate-webhook-secret"


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a ``login_required`` view, as django-stubs suggests typing it."""

    user: User


@never_cache  # the response that shows a new key must not sit in any cache
@login_required
@require_http_methods(["GET", "POST"])
def keys(request: AuthenticatedHttpRequest) -> HttpResponse:
    """List the user's keys; a POST creates one, then redirects to this page, which shows the
    new key once (POST-redirect-GET: a reload creates nothing and shows the key no more).

    The key crosses the redirect in a signed cookie that lives 60 s, for this page's path only,
    read and deleted by the next GET: it is kept nowhere but in its owner's browser, never in a
    URL or on the server. The page also shows the webhook signing secret; a POST with
    ``action`` = ``rotate-webhook-secret`` replaces it (or makes the first one).
    """
    user = request.user
    if request.method == "POST" and request.POST.get("action") == WEBHOOK_ROTATE_ACTION:
        webhook_secret_rotate(user=user, actor=user, ip_address=client_ip(request))
        messages.success(
            request, "New webhook signing secret. Deliveries from now on are signed with it."
        )
        return redirect("account-keys")
    issued: IssuedKey | None = None
    teams = teams_of(user)
    if request.method == "POST":
        form = ApiKeyCreateForm(request.POST, teams=teams)
        if form.is_valid():
            try:
                created = api_key_create(
                    user=user,
                    name=form.cleaned_data["name"],
                    expires_at=form.expires_at(),
                    team=api_key_team_for(user=user, slug=form.cleaned_data.get("team") or ""),
                    actor=user,
                    ip_address=client_ip(request),
                )
            except ServiceError as error:
                _form_add_service_error(form, error)
            except ValueError as error:
                form.add_error(None, str(error))
            else:
                see_other = HttpResponseRedirect(reverse("account-keys"), status=303)
                see_other.set_signed_cookie(
                    ISSUED_KEY_COOKIE,
                    json.dumps({"id": created.api_key.pk, "key": created.key}),
                    salt=ISSUED_KEY_COOKIE,
                    max_age=ISSUED_KEY_COOKIE_MAX_AGE_S,
                    path=reverse("account-keys"),
                    secure=request.is_secure(),
                    httponly=True,
                    samesite="Strict",
                )
                return see_other
        status = 400
    else:
        form = ApiKeyCreateForm(teams=teams)
        issued = _issued_key_shown_once(request)
        status = 200
    context = {
        "form": form,
        "issued": issued,
        "api_keys": api_key_list(user=user),
        # Unlike an API key, the secret stays readable: we sign with it, the owner verifies.
        # None until the first delivery or the owner's first click makes one.
        "webhook_secret": webhook_secret_get(user=user),
        "webhook_rotate_action": WEBHOOK_ROTATE_ACTION,
    }
    response = render(request, "accounts/keys.html", context, status=status)
    if ISSUED_KEY_COOKIE in request.COOKIES:
        response.delete_cookie(ISSUED_KEY_COOKIE, path=reverse("account-keys"))
    return response


ISSUED_KEY_COOKIE = "issued_api_key"
ISSUED_KEY_COOKIE_MAX_AGE_S = 60


def _issued_key_shown_once(request: AuthenticatedHttpRequest) -> IssuedKey | None:
    """The key just created, from the redirect's cookie (the caller deletes it); None when
    there is none, it is too old or forged, or it is not this user's."""
    try:
        carried = json.loads(
            request.get_signed_cookie(
                ISSUED_KEY_COOKIE, salt=ISSUED_KEY_COOKIE, max_age=ISSUED_KEY_COOKIE_MAX_AGE_S
            )
            or ""
        )
        api_key = api_key_get_owned(user=request.user, api_key_id=int(carried["id"]))
        key = str(carried["key"])
    except (KeyError, ValueError, TypeError, signing.BadSignature):
        return None
    return None if api_key is None else IssuedKey(api_key=api_key, key=key)


def _form_add_service_error(form: forms.Form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


KEY_POLICY_ACTION = "policy"
KEY_BUDGET_ACTION = "budget"
KEY_BUDGET_REMOVE_ACTION = "budget-remove"


@login_required
@require_http_methods(["GET", "POST"])
def key_settings(request: AuthenticatedHttpRequest, api_key_id: int) -> HttpResponse:
    """One key's limits: its budget, its policy (models, size, images per request) and how many
    of its generations may run at once. Its owner's page (staff may open any key's); each form
    posts here with ``action`` naming it, and a change redirects back (POST-redirect-GET)."""
    user = request.user
    api_key = api_key_get_manageable(user=user, api_key_id=api_key_id)
    if api_key is None:
        raise Http404("No such API key.")
    standing = api_key_budget_standing(api_key=api_key)
    action = request.POST.get("action") if request.method == "POST" else None
    budget_form = ApiKeyBudgetForm(
        request.POST if action == KEY_BUDGET_ACTION else None,
        initial={"limit": standing.budget.limit, "period": standing.budget.period}
        if standing
        else None,
    )
    policy_form = ApiKeyPolicyForm(
        request.POST if action == KEY_POLICY_ACTION else None,
        initial={
            "allowed_models": api_key.allowed_models,
            "max_size_tier": api_key.max_size_tier,
            "max_images_per_request": api_key.max_images_per_request,
            "max_running": api_key.max_running,
        },
    )
    status = 200
    if request.method == "POST":
        form = budget_form if action != KEY_POLICY_ACTION else policy_form
        if _key_settings_apply(request, api_key, action, form=form):
            return redirect("account-key-settings", api_key_id=api_key.pk)
        status = 400
    context = {
        "api_key": api_key,
        "standing": standing,
        "budget_form": budget_form,
        "policy_form": policy_form,
        "actions": {
            "policy": KEY_POLICY_ACTION,
            "budget": KEY_BUDGET_ACTION,
            "budget_remove": KEY_BUDGET_REMOVE_ACTION,
        },
    }
    return render(request, "accounts/key_settings.html", context, status=status)


def _key_settings_apply(
    request: AuthenticatedHttpRequest,
    api_key: ApiKey,
    action: str | None,
    *,
    form: forms.Form,
) -> bool:
    """Apply the posted ``form`` through the keys service; False (errors on it) if refused."""
    user = request.user
    try:
        if action == KEY_BUDGET_REMOVE_ACTION:
            api_key_budget_remove(api_key=api_key, actor=user)
            messages.success(request, f"“{api_key.name}” has no budget now.")
            return True
        if action == KEY_BUDGET_ACTION:
            if not form.is_valid():
                return False
            api_key_budget_set(
                api_key=api_key,
                actor=user,
                limit=form.cleaned_data["limit"],
                period=form.cleaned_data["period"],
            )
            messages.success(request, f"Saved the budget of “{api_key.name}”.")
            return True
        if action == KEY_POLICY_ACTION:
            if not form.is_valid():
                return False
            api_key_policy_set(
                api_key=api_key,
                actor=user,
                allowed_models=form.cleaned_data["allowed_models"],
                max_size_tier=form.cleaned_data["max_size_tier"],
                max_images_per_request=form.cleaned_data["max_images_per_request"],
                max_running=form.cleaned_data["max_running"],
                ip_address=client_ip(request),
            )
            messages.success(request, f"Saved what “{api_key.name}” may do.")
            return True
    except ServiceError as error:
        _form_add_service_error(form, error)
        return False
    raise Http404("No such form on this page.")


@login_required
@require_POST
def key_revoke(request: AuthenticatedHttpRequest, api_key_id: int) -> HttpResponse:
    user = request.user
    api_key = api_key_get_owned(user=user, api_key_id=api_key_id)
    if api_key is None:
        raise Http404("No such API key.")
    api_key_revoke(api_key=api_key, actor=user, ip_address=client_ip(request))
    messages.success(request, f"Revoked “{api_key.name}”. Requests with it now fail.")
    return redirect("account-keys")


@login_required
@require_GET
def credits(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    form = LedgerFilterForm(request.GET or None)
    filters = form.to_filters()
    page = Paginator(credit_history_list(user=user, filters=filters), LEDGER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    lines = list(page.object_list)
    for line in lines:
        line["line_day"] = timezone.localdate(line["line_at"])
    totals = credit_day_totals(
        user=user, filters=filters, days={line["line_day"] for line in lines}
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "balance": credit_balance_get(user=user),
        "page": page,
        "days": [
            (day, totals.get(day), list(day_lines))
            for day, day_lines in groupby(lines, key=itemgetter("line_day"))
        ],
        "form": form,
        "filtered": form.is_filtered(),
        "filter_query": query.urlencode(),
        "personal_budget": personal_budget_standing(user=user),
        "team_standings": team_standings_of(user=user),
    }
    return render(request, "accounts/credits.html", context)


# --- Sign-in, signup and invitations ---------------------------------------------------------

View = Callable[..., HttpResponse]


def login_lockout_response(request: HttpRequest, *, login: str | None) -> HttpResponse | None:
    """The 429 page while ``login`` (None: any account, by address only) or the client's
    address is locked after repeated failed sign-ins (accounts.services.login_throttle);
    None when signing in may go on."""
    remaining_s = login_lockout_remaining(login=login, ip_address=client_ip(request))
    if not remaining_s:
        return None
    minutes = -(-remaining_s // 60)
    response = render(request, "account/login_locked.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(remaining_s)
    return response


def login_throttled(view: View, *, login_of: Callable[[HttpRequest], str] | None = None) -> View:
    """Refuse a sign-in (429) while its account or address is locked after repeated failures,
    before any password or code is checked (accounts.services.login_throttle). ``login_of``
    names the account a POST tries: by default the name typed in the form."""

    def posted_login(request: HttpRequest) -> str:
        return request.POST.get("login", "")

    name_of = login_of or posted_login

    @wraps(view)
    def throttled(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method == "POST":
            locked = login_lockout_response(request, login=name_of(request))
            if locked is not None:
                return locked
        return view(request, *args, **kwargs)

    return throttled


def _signing_in_user(request: HttpRequest) -> str:
    """The account whose password was right and whose two-factor code is being asked."""
    stage = LoginStageController.enter(request, AuthenticateStage.key)
    return stage.login.user.get_username() if stage is not None else ""


@login_throttled
def login_page(request: HttpRequest) -> HttpResponse:
    """allauth's sign-in page; its single sign-on buttons may post toward the providers."""
    return form_action_allow_providers(request, allauth_views.login(request))


# The code asked after the password: wrong codes count against the account like wrong
# passwords (accounts.signals), and a locked account is refused here too.
mfa_code_page = login_throttled(mfa_views.authenticate, login_of=_signing_in_user)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """allauth's signup page while SIGNUP_OPEN; otherwise the address does not exist."""
    if not settings.SIGNUP_OPEN:
        raise Http404("Signup is closed. Ask staff for an invitation.")
    return allauth_views.signup(request)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin signs in through the workspace's sign-in page: one form, one throttle."""
    target = request.GET.get("next") or reverse("admin:index")
    if request.user.is_authenticated:
        if not request.user.is_staff:
            raise PermissionDenied("The admin is for staff.")
        return redirect(reverse("admin:index"))
    return redirect(f"{reverse('login')}?{urlencode({'next': target})}")


def passwords_allowed(user: User | None = None, *, staff: bool = False) -> bool:
    """With SSO_ONLY, passwords are for staff only: everyone else signs in through single
    sign-on (``staff``: whether the account is, or will be, staff)."""
    return not settings.SSO_ONLY or staff or (user is not None and user.is_staff)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_for_token(token=token)
    if invitation is None:
        return render(request, "accounts/invitation_closed.html", status=410)
    with_password = passwords_allowed(staff=invitation.is_staff)
    if request.method == "POST" and not with_password:
        return render(
            request, "accounts/invitation_accept.html", {"invitation": invitation}, status=403
        )
    form = InvitationAcceptForm(request.POST or None, initial={"email": invitation.email})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                invitation=invitation,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                ip_address=client_ip(request),
            )
        except ValidationError as error:
            form.add_error("password2", error)
        except InvitationError as error:
            form.add_error("username" if "username" in str(error) else None, str(error))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {settings.SITE_NAME}, {user.get_username()}.")
            return redirect("workspace")
    status = 400 if request.method == "POST" else 200
    context = {"form": form if with_password else None, "invitation": invitation}
    response = render(request, "accounts/invitation_accept.html", context, status=status)
    return form_action_allow_providers(request, response)


@login_required
def password_change_page(request: HttpRequest) -> HttpResponse:
    """allauth's password change, for whoever signs in with a password (not, with SSO_ONLY,
    a teammate who signs in through single sign-on)."""
    if not passwords_allowed(request.user):  # type: ignore[arg-type]
        return render(request, "account/password_sso_only.html", status=403)
    return allauth_views.password_change(request)
