"""The address an audit record gives for the person who acted."""

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client wrote unless a trusted proxy
    # rewrites it, and the audit trail must not record a value the actor chose.
    return request.META.get("REMOTE_ADDR") or None
