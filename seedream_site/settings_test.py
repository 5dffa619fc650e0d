"""Test profile: the base settings with test-only overrides.

The database and broker still come from ``DATABASE_URL`` / ``CELERY_BROKER_URL`` so CI runs
the suite on PostgreSQL and Redis; unset, tests use SQLite and the filesystem broker in a
separate folder from ``make run``'s, so a test worker never takes a task of a running platform.

The one variable read here is the test runner's own: pytest-xdist names each of its processes
in ``PYTEST_XDIST_WORKER`` (``make test-fast``), and each gets a broker folder of its own.
pytest-django gives each its own test database the same way (``test.sqlite3_gw0``, …).
"""

import os

from .settings import *  # noqa: F403
from .settings import CELERY_BROKER_URL, DATABASES, VAR_DIR, filesystem_broker_options

_RUNNER_PROCESS = os.environ.get("PYTEST_XDIST_WORKER", "")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Media: tests point the default storage at a folder of their own (tests/conftest.py).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a real worker process started by a test sees the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR = VAR_DIR / ("test-broker" + (f"-{_RUNNER_PROCESS}" if _RUNNER_PROCESS else ""))
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(BROKER_DIR)

# Tests change provider accounts between generations, and a real worker started by a test is
# another process: routing reads the accounts each time (tests/generations/test_routing_cache.py
# turns the cache on).
PROVIDER_ROUTING_CACHE_S = 0.0

# Tests run tasks inline unless a test starts a real worker (tests/integration).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
