"""Test profile: the base settings with test-only overrides (no environment is read here).

The database and broker still come from ``DATABASE_URL`` / ``CELERY_BROKER_URL`` so CI runs
the suite on PostgreSQL and Redis; unset, tests use SQLite and the filesystem broker in a
separate folder from ``make run``'s, so a test worker never takes a task of a running platform.
"""

from .settings import *  # noqa: F403
from .settings import CELERY_BROKER_URL, DATABASES, VAR_DIR, filesystem_broker_options

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
    BROKER_DIR = VAR_DIR / "test-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(BROKER_DIR)

# Tests change provider accounts between generations, and a real worker started by a test is
# another process: routing reads the accounts each time (tests/generations/test_routing_cache.py
# turns the cache on).
PROVIDER_ROUTING_CACHE_S = 0.0

# Tests run tasks inline unless a test starts a real worker (tests/integration).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
