"""One settings module, driven only by environment variables (see `.env.example`).

`DJANGO_ENV=development` (the default) is the embedded demo: SQLite, tasks run in-process,
sandboxes on. `DJANGO_ENV=production` requires real secrets and services and fails at start,
naming the variable, when one is missing or malformed.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.deploy import deployment_problems
from config.env import database_config, env, fernet_keys, redis_url, require
from config.languages import LANGUAGES as SHIPPED_LANGUAGES

BASE_DIR = Path(__file__).resolve().parent.parent

# ENVIRONMENT
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, production or test, got {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = require("DJANGO_SECRET_KEY", "production needs a long random secret key")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is too short: use at least 50 random characters")
else:
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY", default="development-only-insecure-key-0123456789abcdefghijklmnopqrstuvwxyz"
    )

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is not set: list the host names this site answers to")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Absolute base URL of this site, used in links we hand to Pipedrive and Intuit.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# APPS
INSTALLED_APPS = [
    "config.apps.StaffAdminConfig",  # the admin, behind allauth login + TOTP for staff
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "tenants",
    "integration",
    "integration.quickbooks",
    "integration.pipedrive",
    "integration.pipedrive.allauth_provider",
    "invoices",
    "config.apps.ProjectConfig",  # the project's system checks (config/checks.py)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "tenants.middleware.CompanyScopeMiddleware",
    "tenants.middleware.MembershipLanguageMiddleware",  # after the seat is known: its language wins
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "tenants.language.context",
            ],
        },
    },
]

# DATABASES
DATABASES = {
    "default": database_config("DATABASE_URL", default="" if PRODUCTION else f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    if (env.str("DATABASE_URL", default="") or not PRODUCTION)
    else {}
}
if PRODUCTION and not DATABASES["default"]:
    require("DATABASE_URL", "production runs on PostgreSQL, e.g. postgres://user:pass@db:5432/app")
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The panel reads' answers per web process, dropped on PostgreSQL's notices (invoices/panel_cache.py); 0: off.
PANEL_CACHE_BYTES = env.int("PANEL_CACHE_BYTES", default=64 * 2**20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CACHES AND CELERY
REDIS_URL = redis_url("REDIS_URL")
if PRODUCTION and not REDIS_URL:
    require("REDIS_URL", "production needs Redis for the task broker and the QuickBooks rate limiter")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
else:
    # Embedded default: no broker, tasks run in-process when they are sent.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True  # a task lost with its worker is redelivered; tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    # Change data capture heals missed webhooks: one call per active connection per cycle.
    "cdc-sweep": {"task": "invoices.cdc_sweep", "schedule": env.int("CDC_SWEEP_SECONDS", default=900)},
    "overdue-sweep": {"task": "invoices.overdue_sweep", "schedule": 24 * 3600},
    # Deal figures (Invoiced/Paid/Outstanding) still dirty after an outage or a lost task.
    "deal-figures-sweep": {"task": "invoices.deal_figures_sweep", "schedule": 60},
    # Healing: pending creates nobody works on, stored webhooks no task processed, and a catch-up
    # CDC after an outage; short, so everything resumes within a minute of a fault ending.
    "heal": {"task": "invoices.heal", "schedule": env.int("HEAL_SECONDS", default=15)},
    "prune-logs": {"task": "invoices.prune_logs", "schedule": 3600},
    # Deal notes (issue 13) whose retry is due or whose task was lost.
    "deal-notes-sweep": {"task": "invoices.deal_notes_sweep", "schedule": 120},
}
HEAL_SECONDS = env.int("HEAL_SECONDS", default=15)
# How long the support logs are kept (days); the audit log of support actions is kept for good.
RETENTION_API_CALLS_DAYS = env.int("RETENTION_API_CALLS_DAYS", default=30)
RETENTION_WEBHOOKS_DAYS = env.int("RETENTION_WEBHOOKS_DAYS", default=30)
RETENTION_SUPPORT_JOB_RESULTS_DAYS = env.int("RETENTION_SUPPORT_JOB_RESULTS_DAYS", default=90)
INVOICE_RETRY_MAX_SECONDS = env.int("INVOICE_RETRY_MAX_SECONDS", default=300)
# How long a create in a web request may spend on QuickBooks in total; then it answers 202 with the
# pending intent and a worker finishes it (same requestid).
INVOICE_CREATE_WAIT_SECONDS = env.float("INVOICE_CREATE_WAIT_SECONDS", default=4.0)
# Publishing a task gives up quickly when the broker is down: the row is stored, a sweeper sends it.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# SECRETS ENCRYPTION
# Newest key first; older keys only decrypt. Rotate with `manage.py rotate_encryption_keys`.
FIELD_ENCRYPTION_KEYS = fernet_keys(
    "FIELD_ENCRYPTION_KEYS",
    default=None if PRODUCTION else ["ZGV2ZWxvcG1lbnQtb25seS1ub3Qtc2VjcmV0LWtleSE="],
)

# AUTH
AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "tenants:settings"  # issue 13: signing in lands on Settings

# django-allauth: https://docs.allauth.org/en/latest/account/configuration.html
ACCOUNT_ADAPTER = "tenants.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "QuickBooks for Pipedrive"

# REST FRAMEWORK
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "tenants.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "QuickBooks invoicing for Pipedrive API",
    "DESCRIPTION": "The panel API used by our Pipedrive deal panel and modal.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_responses",  # every refusal each operation can answer
    ],
}

# INTERNATIONALIZATION
# The user's language: their own choice in Settings, else their Pipedrive language (stored on the
# membership at install and sign-in), else the browser's Accept-Language, else English
# (tenants/language.py). Catalogues live in locale/ (README "Languages").
LANGUAGE_CODE = "en"
LANGUAGES = SHIPPED_LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# STATIC FILES
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development whitenoise serves straight from the app folders; production uses collectstatic.
WHITENOISE_AUTOREFRESH = not PRODUCTION
WHITENOISE_USE_FINDERS = not PRODUCTION
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# EMAIL (allauth password resets; invoices are emailed by QuickBooks itself)
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="QuickBooks for Pipedrive <noreply@localhost>")

# SECURITY HEADERS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes speak plain HTTP inside the cluster
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# django-csp 4: https://django-csp.readthedocs.io/en/latest/configuration.html
# Every page denies framing; the panel views override frame-ancestors for Pipedrive.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# INTEGRATIONS
# The sandboxes simulate Intuit and Pipedrive under /sandbox/ for tests, demo and development.
SANDBOXES_ENABLED = env.bool("SANDBOXES_ENABLED", default=not PRODUCTION)
# Their apps, and so their tables and migrations, exist only when they are on: never in production.
SANDBOX_APPS = ["integration.sandbox.quickbooks", "integration.sandbox.pipedrive"]
if SANDBOXES_ENABLED:
    INSTALLED_APPS += SANDBOX_APPS
    # The sandboxes' OAuth servers speak plain HTTP on localhost; oauthlib refuses anything but
    # HTTPS unless told otherwise. Production (no sandboxes) keeps the library's HTTPS-only rule.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
_sandbox = f"{PUBLIC_BASE_URL}/sandbox"
HTTP_TIMEOUT_SECONDS = env.float("HTTP_TIMEOUT_SECONDS", default=20.0)
HTTP_USER_AGENT = env.str("HTTP_USER_AGENT", default="qbo-pipedrive/1.0")

# QuickBooks Online: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
QBO_CLIENT_ID = env.str("QBO_CLIENT_ID", default="sandbox-qbo-client-id" if SANDBOXES_ENABLED else "")
QBO_CLIENT_SECRET = env.str("QBO_CLIENT_SECRET", default="sandbox-qbo-client-secret" if SANDBOXES_ENABLED else "")
QBO_WEBHOOK_VERIFIER_TOKEN = env.str(
    "QBO_WEBHOOK_VERIFIER_TOKEN", default="sandbox-qbo-verifier-token" if SANDBOXES_ENABLED else ""
)
QBO_AUTHORIZE_URL = env.str(
    "QBO_AUTHORIZE_URL",
    default=f"{_sandbox}/quickbooks/oauth2/authorize"
    if SANDBOXES_ENABLED
    else "https://appcenter.intuit.com/connect/oauth2",
)
QBO_TOKEN_URL = env.str(
    "QBO_TOKEN_URL",
    default=f"{_sandbox}/quickbooks/oauth2/tokens/bearer"
    if SANDBOXES_ENABLED
    else "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
)
QBO_REVOKE_URL = env.str(
    "QBO_REVOKE_URL",
    default=f"{_sandbox}/quickbooks/oauth2/tokens/revoke"
    if SANDBOXES_ENABLED
    else "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
)
QBO_API_BASE_URL = env.str(
    "QBO_API_BASE_URL",
    default=f"{_sandbox}/quickbooks" if SANDBOXES_ENABLED else "https://quickbooks.api.intuit.com",
)
QBO_APP_BASE_URL = env.str(
    "QBO_APP_BASE_URL",
    default=f"{_sandbox}/quickbooks/app" if SANDBOXES_ENABLED else "https://app.qbo.intuit.com/app",
)
# Where the QuickBooks sandbox POSTs its webhooks; empty means f"{PUBLIC_BASE_URL}/webhooks/quickbooks",
# resolved at send time so a live test server's URL is used. Intuit's webhooks:
# https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks
QBO_SANDBOX_WEBHOOK_URL = env.str("QBO_SANDBOX_WEBHOOK_URL", default="")
QBO_SANDBOX_WEBHOOK_TIMEOUT = env.float("QBO_SANDBOX_WEBHOOK_TIMEOUT", default=3.0)
# Our per-realm QBO limiter, under Intuit's 500 requests/min and 10 concurrent per realm:
# https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
QBO_RATE_LIMIT_PER_MINUTE = env.int("QBO_RATE_LIMIT_PER_MINUTE", default=450)
QBO_MAX_IN_FLIGHT = env.int("QBO_MAX_IN_FLIGHT", default=4)
# A web request waits this long for a slot, then answers 503 + Retry-After (or 202, intent stored);
# background tasks wait longer. Both stay under gunicorn's --timeout.
QBO_LIMITER_MAX_WAIT_SECONDS = env.float("QBO_LIMITER_MAX_WAIT_SECONDS", default=2.0)
QBO_LIMITER_BACKGROUND_WAIT_SECONDS = env.float("QBO_LIMITER_BACKGROUND_WAIT_SECONDS", default=30.0)

# Pipedrive: https://pipedrive.readme.io/docs/marketplace-oauth-authorization
PIPEDRIVE_CLIENT_ID = env.str("PIPEDRIVE_CLIENT_ID", default="sandbox-pipedrive-client-id" if SANDBOXES_ENABLED else "")
PIPEDRIVE_CLIENT_SECRET = env.str(
    "PIPEDRIVE_CLIENT_SECRET", default="sandbox-pipedrive-client-secret" if SANDBOXES_ENABLED else ""
)
PIPEDRIVE_JWT_SECRET = env.str(
    "PIPEDRIVE_JWT_SECRET", default="sandbox-pipedrive-jwt-secret" if SANDBOXES_ENABLED else ""
)
# The custom modal's ID as Developer Hub shows it (App extensions > Custom modal); the panel opens the
# create-invoice modal with it as `action_id`. https://pipedrive.readme.io/docs/custom-ui-extensions-modals
# The sandbox default is the id the Pipedrive sandbox registers (integration/sandbox/pipedrive/app_config.py).
PIPEDRIVE_MODAL_ID = env.str(
    "PIPEDRIVE_MODAL_ID", default="5c7e2a91-0b3d-4f6e-9a18-d24c6b8e0f37" if SANDBOXES_ENABLED else ""
)
if PRODUCTION and not PIPEDRIVE_MODAL_ID and not SANDBOXES_ENABLED:
    require("PIPEDRIVE_MODAL_ID", "the deal panel opens the create-invoice modal by the ID Developer Hub gives it")
PIPEDRIVE_OAUTH_BASE_URL = env.str(
    "PIPEDRIVE_OAUTH_BASE_URL",
    default=f"{_sandbox}/pipedrive/oauth" if SANDBOXES_ENABLED else "https://oauth.pipedrive.com/oauth",
)
# Custom UI iframe URLs the Pipedrive sandbox's deal page loads (what Developer Hub would hold);
# empty = {PUBLIC_BASE_URL}/panel/deal and /panel/invoice-modal. https://pipedrive.readme.io/docs/custom-ui-extensions
PIPEDRIVE_SANDBOX_PANEL_URL = env.str("PIPEDRIVE_SANDBOX_PANEL_URL", default="")
PIPEDRIVE_SANDBOX_MODAL_URL = env.str("PIPEDRIVE_SANDBOX_MODAL_URL", default="")
# Where the sandbox's Invoices tab reads our invoicing-extension manifest; empty means
# {PUBLIC_BASE_URL}/ext/invoicing/manifest.json. https://pipedrive.readme.io/docs/app-extensions-invoicing
PIPEDRIVE_SANDBOX_INVOICING_MANIFEST_URL = env.str("PIPEDRIVE_SANDBOX_INVOICING_MANIFEST_URL", default="")
# "Continue with Pipedrive" (django-allauth provider in integration/pipedrive/allauth_provider); it
# follows PIPEDRIVE_OAUTH_BASE_URL. https://docs.allauth.org/en/latest/socialaccount/configuration.html
SOCIALACCOUNT_PROVIDERS = {
    "pipedrive": {"APPS": [{"client_id": PIPEDRIVE_CLIENT_ID, "secret": PIPEDRIVE_CLIENT_SECRET, "key": ""}]}
}
SOCIALACCOUNT_STORE_TOKENS = False  # tokens live encrypted in PipedriveInstallation, never in allauth's table
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # an account is linked by Pipedrive company + user id, not by email
if PRODUCTION:
    # Refuse the sandboxes and any secret left at a sandbox/example value (config/deploy.py;
    # `check --deploy` reports the same list), then any credential left unset.
    if _problems := deployment_problems(globals().get):
        raise ImproperlyConfigured("; ".join(message for _name, message in _problems))
    for _name in (
        "QBO_CLIENT_ID",
        "QBO_CLIENT_SECRET",
        "QBO_WEBHOOK_VERIFIER_TOKEN",
        "PIPEDRIVE_CLIENT_ID",
        "PIPEDRIVE_CLIENT_SECRET",
    ):
        # PIPEDRIVE_JWT_SECRET may stay empty: Pipedrive then signs with the client secret (and so do we).
        if not globals()[_name]:
            require(_name, "production talks to the real Intuit and Pipedrive with these credentials")

# Request body limits per machine-facing surface (bytes), answered 413 in that surface's envelope
# (config.middleware). A draft of 750 lines with long descriptions stays below 2 MB; Intuit's
# webhook batches are a few kB.
REQUEST_BODY_LIMITS = {
    "api": env.int("API_MAX_BODY_BYTES", default=2_000_000),
    "extension": env.int("EXTENSION_MAX_BODY_BYTES", default=2_000_000),
    "webhook": env.int("WEBHOOK_MAX_BODY_BYTES", default=1_000_000),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, *REQUEST_BODY_LIMITS.values())

# Error pages and error mails hide `@sensitive_variables` locals even with DEBUG on.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.redaction.AlwaysCleansingExceptionReporterFilter"

# LOGGING
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # URLs carry the panel JWT and OAuth codes: every line is redacted before it is written.
    "filters": {"redact": {"()": "config.redaction.RedactSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Their DEBUG lines print token answers, request bodies and the Basic client credentials.
        "requests_oauthlib": {"level": "INFO"},
        "oauthlib": {"level": "INFO"},
        # runserver's request lines ("GET /panel/deal?token=…") through the redacting handler.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
