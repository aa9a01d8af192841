"""The one settings module. Every value comes from the environment with a safe local default;
with DJANGO_DEBUG off (the default) the insecure defaults are refused at start-up.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_float, env_int, env_list, env_str
from config.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
_DEV_SECRET_KEY = "dev-only-insecure-key-never-used-in-production-0123456789abcdef"  # noqa: S105 -- only accepted with DEBUG on
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a random value of at least 50 characters when "
        "DJANGO_DEBUG is off; generate one with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
if env_str("POD_IP"):
    # The kubelet's probes send the pod IP as Host.
    ALLOWED_HOSTS.append(env_str("POD_IP"))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "health_check",
    "api",
    "cachekit",
    "tenancy",
    "catalog",
    "assistant",
    "ops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "ops.middleware.HealthProbeMiddleware",
    "ops.database.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
# django-prometheus engines wrap the stock ones to count queries and errors (PostgreSQL: our
# subclass of it, whose connection health check runs only after the connection sat idle).
_PROMETHEUS_ENGINES = {
    "django.db.backends.postgresql": "config.db_backends.postgresql",
    "django.db.backends.sqlite3": "django_prometheus.db.backends.sqlite3",
}
# Connections each worker's pool may open (a pod: GUNICORN_WORKERS x this).
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10, minimum=1)
_database = dj_database_url.parse(
    env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
    conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    conn_health_checks=True,
)
_database["ENGINE"] = _PROMETHEUS_ENGINES.get(_database["ENGINE"], _database["ENGINE"])
if "postgresql" in _database["ENGINE"]:
    _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # A pool per worker process, bounded: requests are greenlets (docker/gunicorn.conf.py), and
    # a connection per greenlet would grow with the replies in flight. A reply holds a connection
    # only for its short reads and its final write, never while the LLM talks (services.py).
    # The server turns it on (gunicorn.conf.py); a one-off command (migrate, wait_for_migrations)
    # connects directly and reports the database's own error at once.
    if env_bool("DATABASE_POOL", False):
        _database["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
        _database["OPTIONS"]["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0),
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": env_float("DATABASE_POOL_TIMEOUT", 10.0, minimum=0.1),
            "max_idle": env_float("DATABASE_POOL_MAX_IDLE", 300.0, minimum=1.0),
        }
DATABASES = {"default": _database}
DATABASE_HEALTH_CHECK_AFTER_IDLE = env_float("DATABASE_HEALTH_CHECK_AFTER_IDLE", 10.0, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (cachekit) --------------------------------------------------------------------------
# Redis when REDIS_URL is set; else one process' memory, refused for a server of more than one
# process (cachekit/checks.py). Django's cache framework is not used.
REDIS_URL = env_str("REDIS_URL")
CACHE_BACKEND = env_choice(
    "DJANGO_CACHE_BACKEND", "redis" if REDIS_URL else "locmem", ("redis", "locmem")
)
CACHE_TIMEOUT = env_int("CACHE_TIMEOUT", 300, minimum=1)
if CACHE_BACKEND == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("DJANGO_CACHE_BACKEND=redis needs REDIS_URL")
# Short timeouts: a hung Redis costs one short wait, then the caller's breaker opens.
WAZEN_CACHE_SOCKET_TIMEOUT = env_float("WAZEN_CACHE_SOCKET_TIMEOUT", 0.25, minimum=0.01)
WAZEN_CACHE_MAX_CONNECTIONS = env_int("WAZEN_CACHE_MAX_CONNECTIONS", 50, minimum=1)
# Processes of this server sharing the cache store (gunicorn.conf.py sets it to its workers).
WAZEN_SERVER_PROCESSES = env_int("WAZEN_SERVER_PROCESSES", 1, minimum=1)
# How often a serving process looks for invalidations another process could not bring to Redis
# (cachekit/pending.py): the longest a stale value can be served after such a write. 0: never.
WAZEN_CACHE_PENDING_POLL_SECONDS = env_float("WAZEN_CACHE_PENDING_POLL_SECONDS", 1.0, minimum=0)

# --- Wazen -------------------------------------------------------------------------------------
WAZEN_CACHE_BREAKER_COOLDOWN = env_float("WAZEN_CACHE_BREAKER_COOLDOWN", 5.0)
WAZEN_CACHE_ERROR_LOG_INTERVAL = env_float("WAZEN_CACHE_ERROR_LOG_INTERVAL", 30.0)
WAZEN_CACHE_FILL_LOCK_WAIT = env_float("WAZEN_CACHE_FILL_LOCK_WAIT", 2.0)
# Concurrent misses share one load (threads: single flight; processes: a fill lock). Off only to
# measure what it saves (make bench).
WAZEN_CACHE_SINGLE_FLIGHT = env_bool("WAZEN_CACHE_SINGLE_FLIGHT", True)
# Decoded entries kept per process and cache (LRU); a hit then reads only the generation. 0: off.
WAZEN_CACHE_LOCAL_MAX_ENTRIES = env_int("WAZEN_CACHE_LOCAL_MAX_ENTRIES", 500, minimum=0)
WAZEN_API_KEY_CACHE_TIMEOUT = env_int("WAZEN_API_KEY_CACHE_TIMEOUT", 300, minimum=1)
WAZEN_HEALTH_CACHE_CRITICAL = env_bool("WAZEN_HEALTH_CACHE_CRITICAL", False)
WAZEN_MAX_MESSAGE_CHARS = env_int("WAZEN_MAX_MESSAGE_CHARS", 4000, minimum=1)
# A chat body must fit the longest message however it is encoded: "\ud83d\ude00" spends 12
# bytes on one code point. The default follows the message limit; a smaller value is refused.
_MIN_BODY_BYTES = 12 * WAZEN_MAX_MESSAGE_CHARS + 2048
WAZEN_MAX_BODY_BYTES = env_int("WAZEN_MAX_BODY_BYTES", _MIN_BODY_BYTES, minimum=1024)
if WAZEN_MAX_BODY_BYTES < _MIN_BODY_BYTES:
    raise ImproperlyConfigured(
        f"WAZEN_MAX_BODY_BYTES={WAZEN_MAX_BODY_BYTES} cannot hold a chat message of "
        f"WAZEN_MAX_MESSAGE_CHARS={WAZEN_MAX_MESSAGE_CHARS} code points JSON-escaped "
        f"(12 bytes each); use at least {_MIN_BODY_BYTES} or leave it unset"
    )
WAZEN_HISTORY_TURNS = env_int("WAZEN_HISTORY_TURNS", 20, minimum=0)
# The OpenAI-compatible API receives the whole conversation a client holds (Open WebUI and the
# SDK examples resend every turn): its body limit is larger, and stays under Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE and nginx's client_max_body_size.
WAZEN_MAX_COMPLETIONS_BODY_BYTES = env_int(
    "WAZEN_MAX_COMPLETIONS_BODY_BYTES",
    max(1024 * 1024, WAZEN_MAX_BODY_BYTES),
    minimum=WAZEN_MAX_BODY_BYTES,
)
if WAZEN_MAX_COMPLETIONS_BODY_BYTES > 2 * 1024 * 1024:
    raise ImproperlyConfigured("WAZEN_MAX_COMPLETIONS_BODY_BYTES must be at most 2 MiB (2097152)")
# Rate limits and quotas (api/ratelimit.py), counted in Redis; 0 = unlimited.
WAZEN_RATE_LIMIT_KEY_PER_MINUTE = env_int("WAZEN_RATE_LIMIT_KEY_PER_MINUTE", 0, minimum=0)
WAZEN_RATE_LIMIT_COMPANY_PER_MINUTE = env_int("WAZEN_RATE_LIMIT_COMPANY_PER_MINUTE", 0, minimum=0)
WAZEN_QUOTA_KEY_REPLIES_PER_DAY = env_int("WAZEN_QUOTA_KEY_REPLIES_PER_DAY", 0, minimum=0)
WAZEN_QUOTA_COMPANY_REPLIES_PER_DAY = env_int("WAZEN_QUOTA_COMPANY_REPLIES_PER_DAY", 0, minimum=0)
# Failed authentications per client address and minute before 429 (api/preauth.py); 0 = off.
WAZEN_AUTH_FAILURES_PER_MINUTE_PER_IP = env_int(
    "WAZEN_AUTH_FAILURES_PER_MINUTE_PER_IP", 0, minimum=0
)
WAZEN_LLM_PROVIDERS = {
    "catalog": "assistant.providers.catalog.CatalogProvider",
    "openai": "assistant.providers.openai.OpenAIProvider",
}
LLM_PROVIDER = env_choice("LLM_PROVIDER", "catalog", tuple(WAZEN_LLM_PROVIDERS))
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL") or None
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_TIMEOUT = env_float("OPENAI_TIMEOUT", 20.0, minimum=0.1)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2, minimum=0)
# One budget per reply for every attempt, back-off and Retry-After wait; then the apology.
WAZEN_LLM_REPLY_DEADLINE = env_float("WAZEN_LLM_REPLY_DEADLINE", 25.0, minimum=1.0)
# Replies one worker process produces at once (api/inflight.py); past it a reply gets 503 with
# Retry-After at once. A pod holds GUNICORN_WORKERS times this many.
WAZEN_MAX_INFLIGHT_REPLIES = env_int("WAZEN_MAX_INFLIGHT_REPLIES", 250, minimum=1)
if LLM_PROVIDER == "openai" and not OPENAI_API_KEY:
    raise ImproperlyConfigured("LLM_PROVIDER=openai needs OPENAI_API_KEY")

# --- Security ----------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = (
    []
    if SECURE_SSL_REDIRECT
    else [
        # TLS ends at the ingress, which redirects HTTP; in-cluster callers and probes speak HTTP.
        "security.W008",
    ]
)
if not SECURE_HSTS_INCLUDE_SUBDOMAINS:
    # HSTS for subdomains is the domain owner's decision, not this app's.
    SILENCED_SYSTEM_CHECKS.append("security.W005")
SILENCED_SYSTEM_CHECKS.append("security.W021")  # HSTS preload: an opt-in list, never a default
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- i18n / static -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

LOGGING = logging_config(
    log_format=env_choice("LOG_FORMAT", "text", ("text", "json")),
    level=env_choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper(),
)
