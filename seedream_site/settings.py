"""Settings for every profile, read from the environment in this one place.

With nothing set the platform runs on the embedded default: an SQLite file, Celery on
kombu's filesystem transport and media files, all under ``var/``, with the built-in demo
provider. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
Every variable is documented in ``.env.example``.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The embedded default is for one machine; a secret key is generated once and kept under var/.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    _secret_file = VAR_DIR / "secret_key"
    if not _secret_file.exists():
        import secrets

        _secret_file.write_text(secrets.token_urlsafe(50))
        _secret_file.chmod(0o600)
    SECRET_KEY = _secret_file.read_text().strip()

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    # OpenAPI schema of the native API (/api/schema/) and its docs page, with Swagger UI's files
    # served from the sidecar package, never a CDN.
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "generations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "seedream_site.urls"
WSGI_APPLICATION = "seedream_site.wsgi.application"
ASGI_APPLICATION = "seedream_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.balance",
                "accounts.context_processors.signup",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'seedream.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker's threads write concurrently: WAL lets readers run beside
    # the writer, the busy timeout makes a writer wait instead of failing, and IMMEDIATE
    # transactions take the write lock up front so no transaction has to upgrade (and deadlock).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # A worker runs many threads; a per-process pool caps how many PostgreSQL connections they
    # hold (threads give theirs back before every provider call: generations/db.py).
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # required with a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=16),
        "timeout": env.float("DATABASE_POOL_TIMEOUT_S", default=30.0),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspace"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Media is never served as a public directory: output images go through views that check
# who may see them (generations.views.media).
MEDIA_URL = "/media/"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads larger than this are refused before they reach Pillow (references are <= 10 MB each).
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
REFERENCE_MAX_BYTES = 10 * 1024 * 1024
# Pillow refuses images above this many pixels (decompression bombs).
IMAGE_MAX_PIXELS = 64_000_000
THUMBNAIL_MAX_SIDE = 512

# --- Celery ---------------------------------------------------------------------------
BROKER_DIR = Path(env.str("BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
        # How often an idle worker looks for new task files (kombu's default is 1 s).
        "polling_interval": 0.2,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task held by a worker that died is redelivered after this many seconds.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Provider calls are I/O-bound and take 10-60 s: one worker process holds many of them open
# on threads rather than one call per process.
CELERY_WORKER_POOL = env.str("CELERY_WORKER_POOL", default="threads")
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=128)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Platform -------------------------------------------------------------------------
# Extra seconds the built-in demo provider waits per call (simulates a slow provider).
LOCAL_PROVIDER_LATENCY_S = env.float("LOCAL_PROVIDER_LATENCY_S", default=0.0)
# Set with `make run` to create the `admin` user; otherwise a password is generated once.
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")
WORKSPACE_RECENT_LIMIT = 24
# Whether anyone may create an account on /signup/ (off: staff create accounts in the admin).
SIGNUP_OPEN = env.bool("SIGNUP_OPEN", default=False)
# Credits granted to each account created on /signup/ (0: none).
SIGNUP_INITIAL_CREDITS = env.int("SIGNUP_INITIAL_CREDITS", default=0)

# --- Cache ----------------------------------------------------------------------------
# API throttling counts requests here, so every web process must share it: Redis in production
# (redis://127.0.0.1:6379/1). The default is per process, fine for one `make run` server.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- API ------------------------------------------------------------------------------
# Requests per API key and per user (DRF rate syntax: N/second|minute|hour|day).
API_RATE_PER_KEY = env.str("API_RATE_PER_KEY", default="120/min")
API_RATE_PER_USER = env.str("API_RATE_PER_USER", default="240/min")
# Where clients reach this server; makes absolute the links sent outside a request (webhooks).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Seconds a signed link to an output image stays valid (API replies, webhooks).
MEDIA_LINK_TTL_S = env.int("MEDIA_LINK_TTL_S", default=3600)
# Host names that user-supplied URLs may reach even on private addresses (generations.fetching).
# Development and tests only (a local webhook receiver); empty in production.
FETCH_ALLOW_PRIVATE_HOSTS = env.list("FETCH_ALLOW_PRIVATE_HOSTS", default=[])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "seedream_site.api_errors.api_exception_handler",
    # Per key and per user; seedream_site/throttling.py reads API_RATE_PER_KEY/_USER at
    # request time, so these entries only name the scopes for DRF's own lookups.
    "DEFAULT_THROTTLE_CLASSES": [
        "seedream_site.throttling.ApiKeyRateThrottle",
        "seedream_site.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"api_key": API_RATE_PER_KEY, "user": API_RATE_PER_USER},
    # Names schema components after their view (GenerationCreateApi.InputSerializer ->
    # GenerationCreateInput), so every view can nest plain Input/Output serializers.
    "DEFAULT_SCHEMA_CLASS": "generations.api.schema.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Seedream Studio API",
    "DESCRIPTION": (
        "Make images with ByteDance Seedream, paid from your credit balance. Authenticate with "
        "`Authorization: Bearer <key>` (create a key on /account/keys/). Every error answers "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Only the native API: the OpenAI-compatible /v1/ endpoints have their own envelope.
    "PREPROCESSING_HOOKS": ["generations.api.schema.native_api_only"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}

# Fernet keys for provider credentials at rest, newest first (generations/credentials.py
# explains rotation). Unset: one key derived from DJANGO_SECRET_KEY.
PROVIDER_CREDENTIALS_KEYS = env.list("PROVIDER_CREDENTIALS_KEYS", default=[])
# Calls per generation across provider accounts (the first try plus failovers).
PROVIDER_MAX_ATTEMPTS = env.int("PROVIDER_MAX_ATTEMPTS", default=3)
# An account that fails authentication this many times in a row is disabled.
PROVIDER_AUTH_FAILURES_TO_DISABLE = env.int("PROVIDER_AUTH_FAILURES_TO_DISABLE", default=3)
# Longest wait honoured from a provider's Retry-After before calling the same account again.
PROVIDER_RETRY_AFTER_MAX_S = 30.0
# Job-based providers are polled from re-scheduled tasks: first poll after this many seconds,
# growing by 1.25x per poll up to the cap.
PROVIDER_POLL_FIRST_S = env.float("PROVIDER_POLL_FIRST_S", default=1.0)
PROVIDER_POLL_MAX_S = env.float("PROVIDER_POLL_MAX_S", default=10.0)
# A generation not finished this long after it started fails and its credits are returned.
GENERATION_DEADLINE_S = env.int("GENERATION_DEADLINE_S", default=600)
# How long an OpenAI-compatible call waits for its images before answering 504 (the generation
# goes on and can be fetched from the native API).
OPENAI_WAIT_TIMEOUT_S = env.float("OPENAI_WAIT_TIMEOUT_S", default=300.0)
