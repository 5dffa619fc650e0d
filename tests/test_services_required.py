"""CI names PostgreSQL and Redis and sets REQUIRE_SERVICES=1: then they must be in use and up.

Locally (nothing named) these checks skip; when the environment names a service it is checked.
"""

import os

import pytest
from django.conf import settings
from django.db import connection

from seedream_site.celery import app as celery_app

REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


def test_database_is_postgresql_when_required(db):
    if not REQUIRED and connection.vendor != "postgresql":
        pytest.skip("DATABASE_URL does not name PostgreSQL")
    assert connection.vendor == "postgresql", "REQUIRE_SERVICES=1 needs DATABASE_URL=postgres://…"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_broker_is_redis_and_reachable_when_required():
    names_redis = settings.CELERY_BROKER_URL.startswith("redis://")
    if not REQUIRED and not names_redis:
        pytest.skip("CELERY_BROKER_URL does not name Redis")
    assert names_redis, "REQUIRE_SERVICES=1 needs CELERY_BROKER_URL=redis://…"
    with celery_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=5)
        assert broker.connected
