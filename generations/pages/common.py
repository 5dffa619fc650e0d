"""Small helpers every page module shares."""

import uuid
from collections.abc import Mapping

from django import forms
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User
from generations.models import Generation
from generations.selectors.generations import generation_get_visible
from studio_core.errors import ServiceError


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a ``login_required`` view, as django-stubs suggests typing it."""

    user: User


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def generation_or_404(request: AuthenticatedHttpRequest, generation_id: object) -> Generation:
    """The generation if the user may see it; any other id, existing or not, is a 404."""
    generation = generation_get_visible(user=request.user, generation_id=str(generation_id))
    if generation is None:
        raise Http404("No such generation.")
    return generation


def page_back(request: HttpRequest, fallback: str) -> str:
    """The page the form was on (its ``next`` field) if that is one of ours, else ``fallback``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def redirect_back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Back to the page the form was on (its ``next`` field), if that is one of ours."""
    return redirect(page_back(request, fallback))


def form_add_service_error(
    form: forms.Form, error: ServiceError, *, field_names: Mapping[str, str] | None = None
) -> None:
    """Where every page shows a service's refusal: each message next to the form field it is
    about (``field_names`` maps a service's field name to the form's where they differ), and
    above the form when the form has no such field or the error names none."""
    renamed = field_names or {}
    for field, messages in (error.field_errors or {"": [error.message]}).items():
        name = renamed.get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
