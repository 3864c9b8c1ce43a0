"""One settings module, driven by environment variables (see docs/deploy.md).

The defaults run the whole platform on one machine: SQLite, files under media/ and a
database-backed task worker. Environment variables switch to PostgreSQL (DATABASE_URL),
S3-compatible storage (S3_BUCKET and friends) and Redis-backed workers (TASKS_BACKEND=rq).
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    file_name = env.str(f"{name}_FILE", default="")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return env.str(name, default=default)


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    try:
        value = env.int(name, default=default)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {env.str(name)!r}") from exc
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


DEBUG = env_bool("DEBUG", False)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto and appends to X-Forwarded-For.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY (or SECRET_KEY_FILE) to a long random string; "
        "`make run` and `make test` set one for you."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tasks_db",
    "compression",
    "accounts",
    "dashboard",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the body: Content-Length limit, JSON errors for the dashboard upload.
    "compression.request_limits.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "compression.middleware.DatabaseUnavailableMiddleware",  # DB outage -> 503, not 500
]

ROOT_URLCONF = "compressor_site.urls"
WSGI_APPLICATION = "compressor_site.wsgi.application"

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
            ],
        },
    },
]

# Database: SQLite by default, anything django-environ parses through DATABASE_URL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + IMMEDIATE transactions let the web server and a worker share the file without
    # "database is locked" errors under normal load.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Reconnect after a database restart without restarting our processes.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds API throttling and login-attempt counters, so it must be shared by every web
# process: the database by default (its table comes with `migrate`), Redis through CACHE_URL.
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Password guessing: after LOGIN_MAX_FAILURES failed logins for one username or from one client
# IP within LOGIN_LOCKOUT_SECONDS, every login (dashboard, admin, API) is refused until the window
# ends (accounts/login_guard.py; counters in the shared cache).
AUTHENTICATION_BACKENDS = ["accounts.login_guard.RateLimitedModelBackend"]
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 10, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900, minimum=1)
# Sign-ups: at most SIGNUP_MAX_PER_IP new accounts from one client IP per SIGNUP_WINDOW_SECONDS.
SIGNUP_MAX_PER_IP = env_int("SIGNUP_MAX_PER_IP", 5, minimum=1)
SIGNUP_WINDOW_SECONDS = env_int("SIGNUP_WINDOW_SECONDS", 3600, minimum=1)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "landing"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Files. Local media/ by default; any S3-compatible store when S3_BUCKET is set.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            "access_key": env_secret("S3_ACCESS_KEY_ID") or None,
            "secret_key": env_secret("S3_SECRET_ACCESS_KEY") or None,
            "addressing_style": env.str("S3_ADDRESSING_STYLE", default="path"),
            # Optional key prefix, to share a bucket between deployments (or test runs).
            "location": env.str("S3_LOCATION", default="").strip("/"),
            "signature_version": "s3v4",
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
            # Presigned URLs (not used for downloads, which stream through Django) live this long.
            "querystring_expire": env_int("S3_PRESIGNED_URL_SECONDS", 300, minimum=1),
            # A file read from the store spools to a temporary file past this size, so a
            # streamed download never holds a whole large object in memory.
            "max_memory_size": 5 * 1024 * 1024,
        },
    }
else:
    DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Background jobs through django.tasks: the database queue by default, RQ optionally.
TASKS_BACKEND = env.str("TASKS_BACKEND", default="db")
_TASK_BACKENDS = {
    "db": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "rq": "django_tasks_rq.RQBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {sorted(_TASK_BACKENDS)}, got {TASKS_BACKEND!r}")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND], "QUEUES": ["default"]}}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")}}
    RQ = {"JOB_CLASS": "django_tasks_rq.Job"}

# Limits and housekeeping (0 = unlimited where it says so).
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1)
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 50_000_000, minimum=1)
# Every decode of user bytes runs in a child process under these caps (compression/decoding.py);
# the child's own interpreter takes 150-200 MB of the memory cap.
DECODE_MEMORY_MB = env_int("DECODE_MEMORY_MB", 1024, minimum=250)
DECODE_CPU_SECONDS = env_int("DECODE_CPU_SECONDS", 15, minimum=1)
DECODE_WALL_SECONDS = env_int("DECODE_WALL_SECONDS", 25, minimum=1)
QUOTA_JOBS_PER_DAY = env_int("QUOTA_JOBS_PER_DAY", 0)
QUOTA_STORAGE_BYTES = env_int("QUOTA_STORAGE_BYTES", 0)
RETENTION_DAYS = env_int("RETENTION_DAYS", 30, minimum=1)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10, minimum=1)
JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 60, minimum=2)
if JOB_STALE_SECONDS < 2 * JOB_HEARTBEAT_SECONDS:
    # A live job beats every JOB_HEARTBEAT_SECONDS; one late beat must not make it look dead.
    raise ImproperlyConfigured(
        f"JOB_STALE_SECONDS={JOB_STALE_SECONDS} must be at least twice JOB_HEARTBEAT_SECONDS={JOB_HEARTBEAT_SECONDS}"
    )
# Let Django hold a little more than one upload in memory before spooling to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    # Token and Basic come first so an anonymous request gets 401 with a WWW-Authenticate header
    # (DRF answers 403 when the first class has no authenticate_header, as Session has none).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "api.authentication.RateLimitedBasicAuthentication",  # locks out password guessing
        "rest_framework.authentication.SessionAuthentication",  # CSRF stays on
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The browsable API's HTML allows inline styles (DRF's templates use them); scripts stay strict.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "api.renderers.CspBrowsableAPIRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.LimitedJSONParser",
        "api.parsers.LimitedMultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.UserThrottle", "api.throttling.AnonThrottle"],
    # Per user (or per client IP when anonymous); "<n>/<second|minute|hour|day>".
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="600/minute"),
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "compress": env.str("API_THROTTLE_COMPRESS", default="120/minute"),
        "auth": env.str("API_THROTTLE_AUTH", default="10/minute"),
        "preview": env.str("API_THROTTLE_PREVIEW", default="20/second"),
    },
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiPagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 20, minimum=1),
    "DEFAULT_FILTER_BACKENDS": [],
    "EXCEPTION_HANDLER": "api.exception_handler.api_exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.LenientContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # The client IP of anonymous throttles: REMOTE_ADDR, or behind our proxy the last hop of
    # X-Forwarded-For (the one the proxy appended). Never a client-chosen header value.
    "NUM_PROXIES": 1 if BEHIND_TLS_PROXY else 0,
}
# Largest page a client may ask for with ?page_size=; how long ?wait=N may hold a request.
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 100, minimum=1)
API_MAX_WAIT_SECONDS = env_int("API_MAX_WAIT_SECONDS", 60, minimum=0)
# Synchronous work per user (?wait, compress-direct and classic compress, size curves): at most
# SYNC_WORK_PER_USER requests at once, so one account cannot hold the web threads; a slot left by
# a process that died is freed after SYNC_WORK_MAX_SECONDS; a refusal says retry after this many.
SYNC_WORK_PER_USER = env_int("SYNC_WORK_PER_USER", 2, minimum=1)
SYNC_WORK_MAX_SECONDS = env_int("SYNC_WORK_MAX_SECONDS", 600, minimum=1)
SYNC_WORK_RETRY_SECONDS = env_int("SYNC_WORK_RETRY_SECONDS", 5, minimum=1)
# Most job ids one ZIP or one batch may name.
# Prepared preview sources (decoded, downscaled pixels and colour histograms) kept per web process:
# at most PREVIEW_CACHE_MB, each for PREVIEW_CACHE_SECONDS (compression/previews.py).
PREVIEW_CACHE_MB = env_int("PREVIEW_CACHE_MB", 256)
PREVIEW_CACHE_SECONDS = env_int("PREVIEW_CACHE_SECONDS", 600)

API_MAX_BATCH = env_int("API_MAX_BATCH", 100, minimum=1)
API_MAX_TOKENS_PER_USER = env_int("API_MAX_TOKENS_PER_USER", 50, minimum=1)
# /api/health fails (503) when the oldest queued job has waited longer than this; 0 = never.
API_HEALTH_MAX_QUEUE_AGE = env_int("API_HEALTH_MAX_QUEUE_AGE", 0)

SPECTACULAR_SETTINGS = {
    "TITLE": "K-Means Image Compressor API",
    "DESCRIPTION": (
        "Compress images by K-Means colour quantization. Authenticate with a session (CSRF on), "
        "`Authorization: Token <key>` (POST /api/auth/token/) or HTTP Basic."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar: no CDN, the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {},
    # The default enum hook, then the 503 any request can get during a database outage.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.document_service_unavailable",
    ],
}

# Production hardening, switched on by environment (docs/deploy.md).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (Django's ContentSecurityPolicyMiddleware) on every page: nothing inline,
# nothing from other origins. blob: and data: images are the dashboard's local previews. The
# Swagger UI (/api/docs/) and DRF's browsable API allow inline styles on their own HTML only
# (api/renderers.py inline_style_csp); scripts stay 'self' everywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "blob:", "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
