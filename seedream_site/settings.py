"""Settings for every profile, read from the environment in this one place.

With nothing set the platform runs on the embedded default: an SQLite file, Celery on
kombu's filesystem transport and media files, all under ``var/``, with the built-in demo
provider. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
``DJANGO_ENV=production`` is the profile of a team's installation: the values it cannot run
without must be set (start-up fails naming each one missing), S3 storage, HTTPS-only cookies,
HSTS and JSON logs. Every variable is documented in ``.env.example``.
"""

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from seedream_site.mail_url import mail_settings_from_url

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
# An empty value counts as unset: `NAME=` lines copied from .env.example and compose's
# `${NAME:-}` fall back to the default rather than replace it with "".
env.ENVIRON = {name: value for name, value in os.environ.items() if value.strip()}

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Profile --------------------------------------------------------------------------
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, not {DJANGO_ENV!r}.")
PRODUCTION = DJANGO_ENV == "production"
# Where media files live: "filesystem" (MEDIA_ROOT) or "s3" (django-storages). Production
# defaults to S3: workers on several machines must all reach every file.
STORAGE_BACKEND = env.str(
    "STORAGE_BACKEND",
    default="s3" if PRODUCTION or env.str("AWS_STORAGE_BUCKET_NAME", default="") else "filesystem",
)
if STORAGE_BACKEND not in ("filesystem", "s3"):
    raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3, not {STORAGE_BACKEND!r}")
if PRODUCTION:
    # Checked here, before any default below could stand in for a missing value (a generated
    # secret key, an SQLite file, the filesystem broker), and all at once, so one start-up
    # names everything that is missing.
    # The cache too: rate limits and API keys' last use must be shared by every process (a
    # per-process cache would let each web process allow the full rate, and no worker would
    # ever see the uses a web process noted).
    _required = [
        "DJANGO_SECRET_KEY",
        "DJANGO_ALLOWED_HOSTS",
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "CACHE_URL",
        # Invitations and password resets are mailed: a team's installation cannot do without.
        "EMAIL_URL",
    ]
    if STORAGE_BACKEND == "s3":
        _required.append("AWS_STORAGE_BUCKET_NAME")
    _missing = [name for name in _required if not env.str(name, default="").strip()]
    if _missing:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs these environment variables, which are not set: "
            + ", ".join(_missing)
            + " (.env.example describes each)."
        )
    if env.bool("DJANGO_DEBUG", default=False):
        raise ImproperlyConfigured("DJANGO_DEBUG=true is refused with DJANGO_ENV=production.")

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

# --- HTTPS ----------------------------------------------------------------------------
# On in production, where the platform is reached over HTTPS only; each can be turned off,
# e.g. for a trial on http://localhost (docker-compose.yml).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
# Probes and Prometheus reach the server over the internal network, often in plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # Preloading puts the domain in browsers' built-in lists, which takes months to undo: an
    # operator's decision (DJANGO_HSTS_PRELOAD=true), not a default the deploy check forces.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Behind a proxy, Django sees the proxy's connection: plain HTTP (and would redirect forever
# where TLS ends at the proxy) on the proxy's host name. Links in replies are built from the
# request (request.build_absolute_uri), so they need the client's scheme and host. Trust the
# proxy's X-Forwarded-Proto and X-Forwarded-Host only when asked: a proxy that does not
# overwrite them would let any client claim HTTPS or put its own host name in the links.
# DJANGO_TRUST_PROXY_HEADERS trusts both; DJANGO_SECURE_PROXY_SSL_HEADER, the scheme alone.
USE_X_FORWARDED_HOST = env.bool("DJANGO_TRUST_PROXY_HEADERS", default=False)
if USE_X_FORWARDED_HOST or env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

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
    # Sign-in, password reset and change, email addresses (django-allauth); its pages are our
    # templates under templates/account/.
    "allauth",
    "allauth.account",
    # Two-factor authentication (an authenticator app and recovery codes) at /2fa/.
    "allauth.mfa",
    # Each user's signed-in browsers, with their address and last activity, at /sessions/.
    "allauth.usersessions",
    # Single sign-on with OpenID Connect (accounts.oidc verifies what allauth's provider skips).
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "accounts",
    "generations",
]

MIDDLEWARE = [
    # First: every later middleware's and view's log lines carry the request id.
    "seedream_site.observability.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every reply, error pages and static files included.
    "csp.middleware.CSPMiddleware",
    # WhiteNoise, async-capable: a sync-only middleware would give every ASGI request a thread.
    "seedream_site.static_files.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # django-allauth's: finishes or abandons a sign-in left half-way (e.g. a closed tab).
    "allauth.account.middleware.AccountMiddleware",
    # Notes each signed-in browser's address and last activity on its session (/sessions/).
    "accounts.middleware.SessionActivityMiddleware",
    # With MFA_REQUIRED_FOR_STAFF, staff without two-factor authentication enrol before the admin.
    "accounts.middleware.StaffMfaRequiredMiddleware",
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

# --- Content Security Policy ----------------------------------------------------------
# The same in every profile. Scripts and styles are only our static files: pages hand
# configuration to scripts in data attributes and json_script blocks (data, never run), so an
# injected <script>, on...= handler or style= attribute is refused by the browser. Images come
# from the site even when media is on S3 (pages stream outputs through session-checked views,
# generations/pages/files.py; only API clients get presigned storage links), plus data: URIs
# and the blob: previews of references about to be uploaded (static/js/compose.js).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

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
    # hold (threads give theirs back before every provider call: generations/runtime/db.py).
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # required with a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=32),
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
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # Sign-in by username or email address.
    "allauth.account.auth_backends.AuthenticationBackend",
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
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Media is never served as a public directory: output images go through views that check
# who may see them (generations.pages.files).
MEDIA_URL = "/media/"
# Seconds a signed link to an output image stays valid (API replies, webhooks); on S3 the
# lifetime of the presigned URL, which S3 caps at 7 days.
MEDIA_LINK_TTL_S = env.int("MEDIA_LINK_TTL_S", default=3600)
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
if STORAGE_BACKEND == "s3":
    from botocore.config import Config as BotocoreConfig

    if MEDIA_LINK_TTL_S > 7 * 24 * 3600:
        raise ImproperlyConfigured("MEDIA_LINK_TTL_S may be at most 604800 (7 days) on S3.")
    _custom_domain = env.str("AWS_S3_CUSTOM_DOMAIN", default="")
    _cloudfront_key_id = env.str("AWS_CLOUDFRONT_KEY_ID", default="")
    # The PEM private key, with its line breaks written as \n in one line.
    _cloudfront_key = env.str("AWS_CLOUDFRONT_KEY", default="", multiline=True)
    if _custom_domain and not (_cloudfront_key_id and _cloudfront_key):
        # django-storages signs custom-domain links only with a CloudFront key; without one it
        # hands out plain links, and outputs are private.
        raise ImproperlyConfigured(
            "AWS_S3_CUSTOM_DOMAIN needs AWS_CLOUDFRONT_KEY_ID and AWS_CLOUDFRONT_KEY "
            "(links to private outputs must be signed)."
        )
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=""),
        "region_name": env.str("AWS_S3_REGION_NAME", default=""),
        # Unset: boto3's own chain (instance role, AWS_PROFILE, ~/.aws) provides credentials.
        "access_key": env.str("AWS_ACCESS_KEY_ID", default=""),
        "secret_key": AWS_SECRET_ACCESS_KEY,
        "location": env.str("AWS_LOCATION", default=""),
        "custom_domain": _custom_domain,
        "cloudfront_key_id": _cloudfront_key_id,
        "cloudfront_key": _cloudfront_key.encode() if _cloudfront_key else "",
        # No ACL is sent by default: objects get the bucket's, private, and buckets with ACLs
        # disabled (the AWS default since 2023) refuse uploads that name any other.
        "default_acl": env.str("AWS_DEFAULT_ACL", default=""),
        # Every link is presigned (generations.security.signed_links) and lives MEDIA_LINK_TTL_S.
        "querystring_auth": True,
        "querystring_expire": MEDIA_LINK_TTL_S,
        # Names are content hashes: a file saved under an existing name has the same bytes.
        "file_overwrite": True,
        "client_config": BotocoreConfig(
            signature_version="s3v4",
            # "path" for MinIO and most other S3-compatible servers; "auto" lets boto3 choose.
            s3={"addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="auto")},
            connect_timeout=env.float("AWS_S3_CONNECT_TIMEOUT_S", default=5.0),
            read_timeout=env.float("AWS_S3_READ_TIMEOUT_S", default=60.0),
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    }
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        # Unset values are left out, so django-storages applies its own defaults.
        "OPTIONS": {name: value for name, value in _s3_options.items() if value != ""},
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
# Hashed names (cached for a year by browsers) need `collectstatic` before the server starts:
# the Dockerfile runs it at build time. Off in development, where `make run` may skip it.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=PRODUCTION)
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
# Uploads larger than this are refused before they reach Pillow (references are <= 10 MB each).
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
REFERENCE_MAX_BYTES = 10 * 1024 * 1024
# Uploads (POST /api/v1/uploads) not yet used as a reference, per user: at most this many and
# this many bytes; an upload idle for UPLOAD_TTL_H hours is removed (celery beat).
UPLOAD_QUOTA_COUNT = env.int("UPLOAD_QUOTA_COUNT", default=100)
UPLOAD_QUOTA_BYTES = env.int("UPLOAD_QUOTA_BYTES", default=500 * 1024 * 1024)
UPLOAD_TTL_H = env.float("UPLOAD_TTL_H", default=24.0)
# A request's references together (no model needs 14 images at 10 MB each): the ceiling of the
# bodies that carry them (seedream_site/body_limits.py).
# Teams and budgets: the Retry-After a submit over a running-generations limit is answered with.
RUNNING_LIMIT_RETRY_AFTER_S = env.int("RUNNING_LIMIT_RETRY_AFTER_S", default=10)

REFERENCES_MAX_TOTAL_BYTES = env.int("REFERENCES_MAX_TOTAL_BYTES", default=64 * 1024 * 1024)
# Pillow refuses images above this many pixels (decompression bombs).
IMAGE_MAX_PIXELS = 64_000_000
THUMBNAIL_MAX_SIDE = 512

# --- Celery ---------------------------------------------------------------------------


def filesystem_broker_options(broker_dir: Path) -> dict[str, Any]:
    """kombu's filesystem transport in ``broker_dir`` (its folders made here, as kombu makes
    none): the embedded default's broker, and the tests' in a folder of their own."""
    for sub in ("queue", "processed"):
        (broker_dir / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "processed_folder": str(broker_dir / "processed"),
        "store_processed": False,
        # How often an idle worker looks for new task files (kombu's default is 1 s).
        "polling_interval": 0.2,
    }


BROKER_DIR = Path(env.str("BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(BROKER_DIR)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # A task held by a worker that died is redelivered after this many seconds (keep it
        # above CELERY_TASK_TIME_LIMIT, or a task still running would be delivered twice) ...
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # ... by the first worker whose periodic scan for such tasks (every N seconds) finds it.
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": 1,
    }
if CELERY_BROKER_URL.startswith("redis://"):
    # kombu's Redis transport, reusing its client instead of building one per command.
    CELERY_BROKER_TRANSPORT = "seedream_site.broker:Transport"
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
# What one credit is worth in US dollars: the usage report's money column (a Decimal, exact).
try:
    CREDIT_VALUE_USD = Decimal(env.str("CREDIT_VALUE_USD", default="0.001"))
except InvalidOperation as error:
    raise ImproperlyConfigured("CREDIT_VALUE_USD must be a number, such as 0.001.") from error
if not CREDIT_VALUE_USD.is_finite() or CREDIT_VALUE_USD < 0:
    raise ImproperlyConfigured("CREDIT_VALUE_USD must be zero or more, such as 0.001.")

# --- Mail -----------------------------------------------------------------------------
# The installation's name, in every mail's subject and body (and the sign-in pages' titles).
SITE_NAME = env.str("SITE_NAME", default="Seedream Studio")
# Where mail goes (seedream_site/mail_url.py has the rule): by default one file per mail under
# var/mail/, read there while trying the platform with `make run`. Production needs SMTP over
# TLS: smtps://user:password@host:465 or submission://user:password@host:587 (STARTTLS).
_mail = mail_settings_from_url(
    env.str("EMAIL_URL", default=f"file://{VAR_DIR / 'mail'}"), base_dir=BASE_DIR
)
if PRODUCTION and not _mail.encrypted:
    raise ImproperlyConfigured(
        "EMAIL_URL must be smtps:// or submission:// (SMTP over TLS) with DJANGO_ENV=production."
    )
EMAIL_BACKEND = _mail.backend
EMAIL_HOST = _mail.host
EMAIL_PORT = _mail.port
EMAIL_HOST_USER = _mail.user
EMAIL_HOST_PASSWORD = _mail.password
EMAIL_USE_SSL = _mail.use_ssl
EMAIL_USE_TLS = _mail.use_tls
if _mail.file_path:
    EMAIL_FILE_PATH = _mail.file_path
# Seconds an SMTP connection or reply may take before sending fails.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_S", default=10)
# The sender of every mail; set it to an address the SMTP server may send from.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <studio@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Sign-in and invitations (django-allauth) ------------------------------------------
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_FORMS = {
    "login": "accounts.forms.SignInForm",
    "reset_password": "accounts.forms.PasswordResetForm",
}
# Open signup (SIGNUP_OPEN) asks for a name, an address and a password twice.
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
# Accounts made before addresses were confirmed still sign in; a new or changed address is
# confirmed by a mailed link (an invitation's address is confirmed by its acceptance).
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_UNIQUE_EMAIL = True
# One address per account; a change takes effect once the new address confirms it.
ACCOUNT_CHANGE_EMAIL = True
# The account is notified by mail of a password or address change.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Changing the password keeps this session signed in; every other session of the account
# ends (Django checks each session against the password it was opened with).
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# Failed sign-ins are counted by accounts.services.login_throttle, on every login form (the
# admin's included) with a 429 answer: allauth's own count would refuse with a form error first.
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": None}
# Links in mails are built from the request (behind a proxy: DJANGO_TRUST_PROXY_HEADERS).
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SESSION_COOKIE_SECURE else "http"
# Days an invitation's link stays valid (counted again from each resend).
INVITE_TTL_DAYS = env.int("INVITE_TTL_DAYS", default=7)
# Failed sign-ins (wrong password, unknown account, wrong two-factor code) before the login
# forms answer 429 for LOGIN_LOCKOUT_MINUTES: per account, and per client address (shared by
# all its accounts, so higher). Counted in the cache (CACHE_URL), which every web process shares.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=10)
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=50)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)

# --- Two-factor authentication and sessions (django-allauth) ----------------------------
# Any user may protect their account with an authenticator app (TOTP), with recovery codes for
# a lost phone; the code is asked after the password. Wrong codes count as failed sign-ins
# (accounts.services.login_throttle).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
MFA_FORMS = {"authenticate": "accounts.forms.MfaCodeForm"}
# Staff must turn two-factor authentication on before the admin opens for them.
MFA_REQUIRED_FOR_STAFF = env.bool("MFA_REQUIRED_FOR_STAFF", default=False)
# Each session's last request (time and address) is kept for the sessions page.
USERSESSIONS_TRACK_ACTIVITY = True

# --- Single sign-on (OpenID Connect, django-allauth's socialaccount) -------------------------
# One identity provider from the environment (Google Workspace, Microsoft Entra ID, Keycloak...):
# its issuer URL (discovery reads <issuer>/.well-known/openid-configuration) and this site's
# client id and secret there. The redirect URI to register is <site>/oidc/sso/login/callback/.
# More providers, or this one without a restart: Admin > Social applications, provider
# "OpenID Connect", with {"server_url": ..., "allowed_domains": [...]} as its settings.
OIDC_ISSUER_URL = env.str("OIDC_ISSUER_URL", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
# The sign-in button says "Sign in with <OIDC_PROVIDER_NAME>".
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on")
# A first sign-in creates an account only for an address on these domains (the identity
# provider having verified it), or for an address with a pending invitation.
OIDC_ALLOWED_DOMAINS = [
    domain.strip().lower()
    for domain in env.list("OIDC_ALLOWED_DOMAINS", default=[])
    if domain.strip()
]
if OIDC_ISSUER_URL and not (OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER_URL needs OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.")
# Staff keep their passwords (a way in when the identity provider is down); everyone else
# signs in only through single sign-on.
SSO_ONLY = env.bool("SSO_ONLY", default=False)
SSO_PROVIDER_ID = "sso"  # in the redirect URI: /oidc/sso/login/callback/
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        # allauth's provider, plus an ID token signature checked against the issuer's JWKS and
        # a nonce (accounts.oidc).
        "provider_class": "accounts.oidc.provider.VerifiedOpenIDConnectProvider",
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": SSO_PROVIDER_ID,
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {
                    "server_url": OIDC_ISSUER_URL,
                    "allowed_domains": OIDC_ALLOWED_DOMAINS,
                },
            }
        ]
        if OIDC_ISSUER_URL
        else [],
    }
}
# Who may come in, and which account a sign-in links to, is accounts.services.sso's rule (run
# from the adapter): allauth's own matching by address stays off.
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the identity provider has verified the address
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10

# --- Cache ----------------------------------------------------------------------------
# API throttling counts requests here, so every web process must share it: Redis in production
# (redis://127.0.0.1:6379/1). The default is per process, fine for one `make run` server.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- API ------------------------------------------------------------------------------
# Requests per API key and per user (DRF rate syntax: N/second|minute|hour|day).
API_RATE_PER_KEY = env.str("API_RATE_PER_KEY", default="120/min")
API_RATE_PER_USER = env.str("API_RATE_PER_USER", default="240/min")
# Where clients reach this server, for links built outside any request: webhooks, which
# workers send, and reference images for providers that fetch them by URL (a reply to a request
# takes its links' host from that request). By default the
# web server of `make run`, whose port the Makefile hands every process as WEB_PORT: honcho
# gives each process a PORT of its own, so a worker's PORT is not the web server's.
WEB_PORT = env.int("WEB_PORT", default=8000)
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{WEB_PORT}")
# Host names that user-supplied URLs may reach even on private addresses
# (generations.security.fetching).
# Development and tests only (a local webhook receiver); empty in production.
FETCH_ALLOW_PRIVATE_HOSTS = env.list("FETCH_ALLOW_PRIVATE_HOSTS", default=[])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "generations.api.errors.api_exception_handler",
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
    # The catalog's model ids are one enum wherever a request names a model.
    "ENUM_NAME_OVERRIDES": {"ModelEnum": "generations.catalog.MODEL_IDS"},
    "TITLE": "Seedream Studio API",
    "DESCRIPTION": (
        "Make images with ByteDance Seedream, paid from your credit balance. Authenticate with "
        "`Authorization: Bearer <key>` (create a key on /account/keys/). Every error answers "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies described as the server checks them: non-blank strings have minLength 1,
    # file fields are binary (a multipart file part), not URLs as in responses.
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1: JSON Schema 2020-12, which can say an event's `data` is a JSON document
    # (contentMediaType/contentSchema) for the server-sent events endpoint.
    "OAS_VERSION": "3.1.0",
    # Only the native API: the OpenAI-compatible /v1/ endpoints have their own envelope.
    "PREPROCESSING_HOOKS": ["generations.api.schema.native_api_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "generations.api.schema.add_links",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Observability --------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# json: one object per line with request_id and generation_id, for a log collector.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, not {LOG_FORMAT!r}.")
# Applies LOGGING, then scrubs API keys, Authorization values and secrets from every record.
LOGGING_CONFIG = "seedream_site.observability.logs.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "seedream_site.observability.logs.PlainFormatter"},
        "json": {"()": "seedream_site.observability.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
# /metrics answers staff sessions, and scrapers sending `Authorization: Bearer <token>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# The provider latency histogram of /metrics covers calls finished this long ago or less.
METRICS_LATENCY_WINDOW_S = env.int("METRICS_LATENCY_WINDOW_S", default=3600)
# Longest wait for the broker in /healthz and /metrics before it counts as down.
HEALTH_CHECK_TIMEOUT_S = env.float("HEALTH_CHECK_TIMEOUT_S", default=3.0)

# Fernet keys for provider credentials at rest, newest first (generations/security/credentials.py
# explains rotation). Unset: one key derived from DJANGO_SECRET_KEY.
PROVIDER_CREDENTIALS_KEYS = env.list("PROVIDER_CREDENTIALS_KEYS", default=[])
# Values replaced by [REDACTED] wherever they would appear in a log line (besides API keys,
# Authorization values, URL passwords and provider keys: seedream_site/observability).
SECRETS_NEVER_LOGGED = [
    SECRET_KEY,
    *PROVIDER_CREDENTIALS_KEYS,
    METRICS_TOKEN,
    AWS_SECRET_ACCESS_KEY,
    EMAIL_HOST_PASSWORD,
]
# Calls per generation across provider accounts (the first try plus failovers).
PROVIDER_MAX_ATTEMPTS = env.int("PROVIDER_MAX_ATTEMPTS", default=3)
# An account that fails authentication this many times in a row is disabled.
PROVIDER_AUTH_FAILURES_TO_DISABLE = env.int("PROVIDER_AUTH_FAILURES_TO_DISABLE", default=3)
# A worker reads the enabled provider accounts at most this often for routing (0: every
# generation); a change made in another process is seen within this many seconds.
PROVIDER_ROUTING_CACHE_S = env.float("PROVIDER_ROUTING_CACHE_S", default=1.0)
# Longest wait honoured from a provider's Retry-After before calling the same account again.
PROVIDER_RETRY_AFTER_MAX_S = 30.0
# Job-based providers are polled from re-scheduled tasks (generations/services/poll_schedule.py)
# at a fifth of the job's age, between these bounds; the first poll waits for most of the
# account's typical job time, and a due job is polled every tenth of that time.
PROVIDER_POLL_FIRST_S = env.float("PROVIDER_POLL_FIRST_S", default=1.0)
PROVIDER_POLL_MAX_S = env.float("PROVIDER_POLL_MAX_S", default=10.0)
# A generation not finished this long after it started fails and its credits are returned.
GENERATION_DEADLINE_S = env.int("GENERATION_DEADLINE_S", default=600)
# How long an OpenAI-compatible call waits for its images before answering 504 (the generation
# goes on and can be fetched from the native API).
OPENAI_WAIT_TIMEOUT_S = env.float("OPENAI_WAIT_TIMEOUT_S", default=300.0)
# A running generation's worker renews its lease every WORKER_HEARTBEAT_S; a lease not renewed
# for GENERATION_LEASE_S means the run was lost (the worker crashed), and a worker's sweep, every
# RECOVERY_SWEEP_S, brings it back (generations/services/recovery.py): within a minute.
GENERATION_LEASE_S = env.int("GENERATION_LEASE_S", default=30)
WORKER_HEARTBEAT_S = env.float("WORKER_HEARTBEAT_S", default=10.0)
RECOVERY_SWEEP_S = env.float("RECOVERY_SWEEP_S", default=10.0)
# Provider calls answered in the response wait on the worker process's event loop, holding no
# thread; what they deliver is stored by this many threads, one call's outcomes in order.
PROVIDER_FINISHER_THREADS = env.int("PROVIDER_FINISHER_THREADS", default=8)
# False: such calls hold a worker thread each, as job-less calls once did (for comparison).
PROVIDER_CALLS_ON_LOOP = env.bool("PROVIDER_CALLS_ON_LOOP", default=True)
# A worker shutting down waits this long for the calls on its loop to end.
WORKER_SHUTDOWN_CALL_WAIT_S = env.float("WORKER_SHUTDOWN_CALL_WAIT_S", default=30.0)
# A generation QUEUED this long is sent to the workers again (its message may be lost).
QUEUE_REDISPATCH_S = env.int("QUEUE_REDISPATCH_S", default=300)
# Periodic jobs, run by `celery -A seedream_site beat` (one beat process per installation).
CELERY_BEAT_SCHEDULE = {
    "reap-generations": {"task": "generations.reap", "schedule": 60.0},
    "remove-deleted-files": {"task": "generations.remove_deleted_files", "schedule": 3600.0},
    "remove-idle-uploads": {"task": "generations.remove_idle_uploads", "schedule": 3600.0},
    # API keys' last use, recorded in the cache by requests (accounts/services/key_usage.py).
    "flush-key-usage": {"task": "accounts.flush_key_usage", "schedule": 60.0},
    # Allowances: each period's grant, once, in the first run of the period (the 1st's first hour
    # for monthly ones); a run that finds it done writes nothing (accounts/services/allowances.py).
    "grant-allowances": {"task": "accounts.grant_allowances", "schedule": 3600.0},
    # One run per 5-minute bucket of the provider health roll-up.
    "rollup-provider-health": {"task": "generations.rollup_provider_health", "schedule": 300.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Redis used to wake requests waiting for a generation (OpenAI-compatible calls); defaults to
# the broker when that is Redis. "off": waiters re-read the database every second instead.
NOTIFY_REDIS_URL = env.str(
    "NOTIFY_REDIS_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
if NOTIFY_REDIS_URL == "off":
    NOTIFY_REDIS_URL = ""
