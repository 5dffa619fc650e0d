"""``/api/docs/``: one Swagger UI page over both API descriptions."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse


def api_docs(request: HttpRequest) -> HttpResponse:
    schemas = [
        {"name": "Native API (/api/v1/)", "url": reverse("api-schema") + "?format=json"},
        {"name": "OpenAI-compatible API (/v1/)", "url": reverse("api-schema-openai")},
    ]
    return render(request, "api/docs.html", {"schemas": schemas})
