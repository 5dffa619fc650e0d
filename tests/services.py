"""Tests that need a real service run when the environment names it; CI makes them mandatory."""

import os

import pytest
from django.db import connection

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require_postgresql() -> None:
    if connection.vendor == "postgresql":
        return
    if REQUIRE_SERVICES:
        pytest.fail("REQUIRE_SERVICES=1 but DATABASE_URL does not name PostgreSQL")
    pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://…")


def require_redis() -> str:
    """The Redis URL the suite runs against (the broker's), or a skip (a failure in CI)."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if url.startswith("redis://"):
        return url
    if REQUIRE_SERVICES:
        pytest.fail("REQUIRE_SERVICES=1 but CELERY_BROKER_URL does not name Redis")
    pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://…")
