"""``/prompts/``: the prompts the user has run, searchable, each one click from the compose
form with its newest settings (``/?reuse=<generation>``)."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from generations.pages.common import AuthenticatedHttpRequest
from generations.selectors.prompts import prompt_history, prompt_rows

PROMPTS_PAGE_SIZE = 30


class PromptSearchForm(forms.Form):
    q = forms.CharField(
        label="Search your prompts",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Words in the prompt…"}),
    )


@login_required
@require_GET
def prompt_history_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = PromptSearchForm(request.GET or None)
    text = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(prompt_history(user=request.user, text=text), PROMPTS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "text": text, "page": page, "rows": prompt_rows(list(page))}
    return render(request, "generations/prompts.html", context)
