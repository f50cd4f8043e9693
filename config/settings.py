"""CardForge settings. Everything variable comes from the environment (see .env.example).

One module over 400 lines on purpose: Django reads settings from one module, and every value
here is named, read from the environment once (config/env.py) and commented where it is set."""

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    DatabaseURL,
    Secret,
    env_bool,
    env_http_url,
    env_int,
    env_key,
    env_list,
    env_secret,
    env_str,
    load_dotenv,
    load_signer_secrets,
    sqlite_settings,
)

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")
# The signer's process (manage.py run_signer) names its own secrets file; no other process does
# (docs/signer.md). Only there are the KEK and the HSM PIN required.
CARDFORGE_IS_SIGNER = bool(os.environ.get("CARDFORGE_SIGNER_SECRETS_FILE"))
if CARDFORGE_IS_SIGNER:
    load_signer_secrets(Path(os.environ["CARDFORGE_SIGNER_SECRETS_FILE"]))

DEBUG = env_bool("DEBUG", default=False)

# A development default exists only with DEBUG on; `check --deploy` flags its
# django-insecure- prefix.
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        msg = "SECRET_KEY is required when DEBUG is off (set SECRET_KEY or SECRET_KEY_FILE)"
        raise ImproperlyConfigured(msg)
    SECRET_KEY = "django-insecure-development-only-never-deploy-this-key"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env_str("CARDFORGE_VAR_DIR", str(BASE_DIR / "var")))

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
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN
    "django_otp",
    "django_otp.plugins.otp_totp",  # TOTP second factor for approving officers and administrators
    "axes",  # sign-in lockout (accounts/lockout.py)
    "audit",
    "cardprofiles",
    "issuance",
    "pki",
    "cards",
    "personalization",
    "signer",
    "reports",  # auditor reports: reads every app above, none of them imports it
    "demo",  # bootstrap_demo: sets up every app listed before it; none of them imports it
    "accounts",  # last: syncs role permissions after every other app's post_migrate
]

MIDDLEWARE = [
    # First: a malformed (400) or oversized (413) Content-Length is refused before any read.
    "config.middleware.ContentLengthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): passed the TOTP step
    # Approving officers and administrators get no page or API call before the TOTP step.
    "accounts.middleware.SecondFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into a page
]

ROOT_URLCONF = "config.urls"
# Error pages and reports hide KEK, PIN, PUK, token, OTP and key values, DEBUG or not.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.SecretsExceptionReporterFilter"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "accounts.context_processors.roles",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL")
DATABASES = {
    "default": (
        DatabaseURL.parse(_database_url, base_dir=BASE_DIR).settings
        if _database_url
        else sqlite_settings(VAR_DIR / "cardforge.sqlite3")
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
# API tokens (accounts.ApiToken, stored hashed) expire this long after they are made.
CARDFORGE_API_TOKEN_TTL_HOURS = env_int("CARDFORGE_API_TOKEN_TTL_HOURS", default=24, minimum=1)
# Set-password links (a privileged user's reset goes by e-mail, never by a typed password).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT_HOURS", default=24, minimum=1) * 3600

# E-mail: set-password links. The console backend (development default) prints them; production
# sets EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the EMAIL_HOST… variables.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CardForge <cardforge@localhost>")

# --- Sign-in: lockout and second factor (accounts/lockout.py, accounts/second_factor.py) ------
# django-axes' backend comes first: it refuses a locked username before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
CARDFORGE_LOGIN_FAILURE_LIMIT = env_int("CARDFORGE_LOGIN_FAILURE_LIMIT", default=10, minimum=1)
CARDFORGE_LOGIN_COOLOFF_MINUTES = env_int("CARDFORGE_LOGIN_COOLOFF_MINUTES", default=15, minimum=0)
CARDFORGE_TRUSTED_PROXY_COUNT = env_int("CARDFORGE_TRUSTED_PROXY_COUNT", default=0, minimum=0)
AXES_FAILURE_LIMIT = CARDFORGE_LOGIN_FAILURE_LIMIT
# Locked by username alone: a guesser spread over many addresses (a botnet) still gets only the
# limit per cool-off, where keying on the address, or on username and address, would give each
# address its own allowance. The price, anyone can lock an officer out for a while, is paid with
# the cool-off and an administrator's unlock, and shows in the audit trail.
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 warns that a lockout without the address can be dodged by rotating User-Agents or
# cookies: not when the username alone is the key (failures are summed over every address and
# agent; tests/accounts/test_lockout.py rotates both).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_COOLOFF_TIME = (
    timedelta(minutes=CARDFORGE_LOGIN_COOLOFF_MINUTES) if CARDFORGE_LOGIN_COOLOFF_MINUTES else None
)
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Failed attempts are forgotten only after a cool-off or an unlock, never on a password success:
# resetting there would let someone holding an approver's password try codes without end.
AXES_RESET_ON_SUCCESS = False
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp", "otp_token"]
# Unlocking goes through the audited admin action on users, not axes' own admin pages.
AXES_ENABLE_ADMIN = False
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit trail already
OTP_TOTP_ISSUER = env_str("CARDFORGE_TOTP_ISSUER", "CardForge")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
CARDFORGE_IMPORT_MAX_BYTES = env_int(
    "CARDFORGE_IMPORT_MAX_BYTES", default=100 * 1024 * 1024, minimum=1
)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first so an anonymous API call is answered 401 with a WWW-Authenticate header.
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON with a size, depth and integer-range limit (config/parsers.py); forms as DRF's.
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Rate limits key on the client address as accounts.lockout.client_ip does: unset, DRF would
    # take a client-written X-Forwarded-For as the address and a forged one would dodge them.
    "NUM_PROXIES": CARDFORGE_TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CardForge API",
    "DESCRIPTION": "Enrolment, card requests with four-eyes approval, PKI and card issuance "
    "for healthcare professional smart cards.",
    "VERSION": "1",
    # <id:pk> (config/converters.py): a BigAutoField primary key.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1}
    },
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        # PKI: "status" and "reason" choice sets of its own; a revocation's "reason" would
        # otherwise collide with a card request's.
        "CertificateStatusEnum": "pki.models.Certificate.Status",
        "RevocationRequestStatusEnum": "pki.models.RevocationRequest.Status",
        "RevocationReasonEnum": "pki.reasons.END_ENTITY_REASON_NAMES",
        "CardRequestReasonEnum": "cards.models.CardRequest.Reason",
        # A card's life: what happened to a card, and what an officer asks for it.
        "CardRevocationReasonEnum": "cards.models.Card.RevocationReason",
        "CardActionEnum": "cards.models.CardActionRequest.Action",
        # Personalization: jobs, cards and stations each have a "status" of their own.
        "PersonalizationJobStatusEnum": "personalization.models.PersonalizationJob.Status",
        "CardStatusEnum": "cards.models.Card.Status",
        "EncoderStationStatusEnum": "personalization.selectors.STATION_STATUSES",
    },
}

# Celery: Redis in production; `filesystem://` is the embedded broker `make run` uses.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost/")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A card must not be abandoned half-made because the broker blinked: keep running tasks on a lost
# connection (Celery 6 changes this default). The job's database lease keeps a redelivered copy
# from doing anything twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands a message that a dead worker never acknowledged (acks_late) to another only
    # after this long; Kombu's default is an hour. Personalization jobs do not wait for it (the
    # beat task `requeue_stale_jobs` resends a job whose heartbeat went stale, see
    # CARDFORGE_JOB_STALE_SECONDS), other tasks killed with their worker do. Keep it well above
    # the longest task and retry countdown: a message still running then is delivered again
    # (harmless for a job, whose lease makes the copy do nothing, but wasted).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Kombu's default is ./control, wherever the process was started.
        "control_folder": str(_broker_dir / "control"),
    }

# --- PKI (pki/, docs/pki.md) ----------------------------------------------------------------
# Where relying parties reach this platform; certificates carry CRL DP and AIA URLs under it.
CARDFORGE_BASE_URL = env_http_url("CARDFORGE_BASE_URL", "http://localhost:8000")
# RFC 5280 §4.2.1.13 / ETSI EN 319 412-2 GEN-4.3.11-4: CRL distribution points are fetched over
# plain http (CRLs and OCSP responses are signed; https would make revocation checking depend on
# another certificate). Set this when the back office itself is served over https.
CARDFORGE_PKI_BASE_URL = env_http_url("CARDFORGE_PKI_BASE_URL", CARDFORGE_BASE_URL)
if not CARDFORGE_PKI_BASE_URL.startswith("http://"):
    raise ImproperlyConfigured(
        "CARDFORGE_PKI_BASE_URL must be an http:// URL (CRL distribution points and OCSP are "
        f"fetched over plain http), not {CARDFORGE_PKI_BASE_URL!r}"
    )
# The software key backend encrypts CA keys under this 32-byte key (base64), from the
# environment or CARDFORGE_KEK_FILE; never from a default. Held in a Secret so no repr shows it.
CARDFORGE_KEK = env_key("CARDFORGE_KEK", length=32)
# What the web process needs for its own work, held by it and the signer (docs/signer.md): the
# OCSP responders' keys (key backend "web") and the PIN mailers it prints, sealed under this key.
CARDFORGE_WEB_KEK = env_key("CARDFORGE_WEB_KEK", length=32)
# Emulated cards' state (config/sealing.py) is sealed under this key, held by emulated stations
# and `emulate_card` (development and tests); unset, under CARDFORGE_KEK as before.
CARDFORGE_EMULATOR_KEK = env_key("CARDFORGE_EMULATOR_KEK", length=32)
PKI_DEFAULT_KEY_BACKEND = env_str("CARDFORGE_PKI_KEY_BACKEND", "software")
# Key backends by alias, shaped like CACHES (django-ca's model): BACKEND is a dotted class path.
PKI_KEY_BACKENDS = {
    "software": {"BACKEND": "pki.key_backends.software.SoftwareKeyBackend", "OPTIONS": {}},
    # OCSP responders' keys: the web process signs status answers with them, so they are not
    # under the signer's KEK but under CARDFORGE_WEB_KEK (docs/signer.md).
    "web": {
        "BACKEND": "pki.key_backends.software.SoftwareKeyBackend",
        "OPTIONS": {"kek_setting": "CARDFORGE_WEB_KEK"},
    },
}
PKI_RESPONDER_KEY_BACKEND = env_str("CARDFORGE_PKI_RESPONDER_KEY_BACKEND", "web")
if env_str("CARDFORGE_PKCS11_MODULE"):
    _pkcs11_pin = env_secret("CARDFORGE_PKCS11_PIN")
    PKI_KEY_BACKENDS["pkcs11"] = {
        "BACKEND": "pki.key_backends.pkcs11.Pkcs11KeyBackend",
        "OPTIONS": {
            "module": env_str("CARDFORGE_PKCS11_MODULE"),
            "token_label": env_str("CARDFORGE_PKCS11_TOKEN_LABEL", ""),
            "user_pin": Secret(_pkcs11_pin) if _pkcs11_pin else None,
            "pool_size": env_int("CARDFORGE_PKCS11_POOL_SIZE", default=4, minimum=1),
        },
    }
if PKI_DEFAULT_KEY_BACKEND not in PKI_KEY_BACKENDS:
    raise ImproperlyConfigured(
        f"CARDFORGE_PKI_KEY_BACKEND={PKI_DEFAULT_KEY_BACKEND!r} is not a configured key backend "
        f"({', '.join(PKI_KEY_BACKENDS)}); set CARDFORGE_PKCS11_MODULE for pkcs11"
    )
_PKI_ALGORITHMS = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072")


def _pki_ca(prefix: str, *, slug: str, name: str, algorithm: str, days: int) -> dict:
    chosen = env_str(f"{prefix}_ALGORITHM", algorithm)
    if chosen not in _PKI_ALGORITHMS:
        raise ImproperlyConfigured(
            f"{prefix}_ALGORITHM must be one of {', '.join(_PKI_ALGORITHMS)}, not {chosen!r}"
        )
    return {
        "slug": slug,
        "common_name": env_str(f"{prefix}_NAME", name),
        "algorithm": chosen,
        "validity_days": env_int(f"{prefix}_VALIDITY_DAYS", default=days, minimum=1),
    }


# The hierarchy `bootstrap_pki` creates: a root and two issuing CAs, by role.
PKI_HIERARCHY = {
    "root": _pki_ca(
        "CARDFORGE_PKI_ROOT_CA",
        slug="root",
        name="CardForge Health Root CA",
        algorithm="ec-p384",
        days=7300,
    ),
    "authentication": _pki_ca(
        "CARDFORGE_PKI_AUTHENTICATION_CA",
        slug="authentication",
        name="CardForge Health Authentication CA",
        algorithm="ec-p256",
        days=3650,
    ),
    "qualified-signature": _pki_ca(
        "CARDFORGE_PKI_QUALIFIED_CA",
        slug="qualified-signature",
        name="CardForge Health Qualified Signature CA",
        algorithm="ec-p256",
        days=3650,
    ),
}
PKI_ORGANIZATION = env_str("CARDFORGE_PKI_ORGANIZATION", "CardForge")
PKI_ORGANIZATION_IDENTIFIER = env_str("CARDFORGE_PKI_ORGANIZATION_IDENTIFIER", "")
PKI_COUNTRY = env_str("CARDFORGE_PKI_COUNTRY", "FR")
# The platform's own certificate policy. The default sits under IANA's documentation arc
# (PEN 32473, RFC 5612): production replaces it with an OID under its own arc.
PKI_POLICY_OID = env_str("CARDFORGE_PKI_POLICY_OID", "1.3.6.1.4.1.32473.1.1")
# ETSI EN 319 412-5 §4.3.4: the PKI disclosure statement is published at an https URL.
PKI_QCPDS_URL = env_http_url(
    "CARDFORGE_PKI_QCPDS_URL",
    "https://"
    + CARDFORGE_BASE_URL.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    + "/pki/pds/en",
)
if not PKI_QCPDS_URL.startswith("https://"):
    raise ImproperlyConfigured("CARDFORGE_PKI_QCPDS_URL must be an https:// URL (EN 319 412-5)")
PKI_CERTIFICATE_VALIDITY_DAYS = env_int(
    "CARDFORGE_PKI_CERTIFICATE_VALIDITY_DAYS", default=1095, minimum=1
)
# Encoder stations' certificates (pki/profiles.py, encoder-station): renewed by re-enrolling.
PKI_STATION_CERTIFICATE_VALIDITY_DAYS = env_int(
    "CARDFORGE_PKI_STATION_CERTIFICATE_VALIDITY_DAYS", default=730, minimum=1
)
PKI_OCSP_RESPONDER_VALIDITY_DAYS = env_int(
    "CARDFORGE_PKI_OCSP_RESPONDER_VALIDITY_DAYS", default=365, minimum=2
)
PKI_CRL_VALIDITY_HOURS = env_int("CARDFORGE_PKI_CRL_VALIDITY_HOURS", default=24, minimum=1)
PKI_CRL_REFRESH_MINUTES = env_int("CARDFORGE_PKI_CRL_REFRESH_MINUTES", default=60, minimum=1)
PKI_OCSP_RESPONSE_VALIDITY_MINUTES = env_int(
    "CARDFORGE_PKI_OCSP_RESPONSE_VALIDITY_MINUTES", default=60, minimum=1
)
if PKI_CRL_REFRESH_MINUTES >= PKI_CRL_VALIDITY_HOURS * 60:
    raise ImproperlyConfigured(
        "CARDFORGE_PKI_CRL_REFRESH_MINUTES must be shorter than CARDFORGE_PKI_CRL_VALIDITY_HOURS, "
        "or relying parties see expired CRLs between two runs"
    )
# Cards inside their profile's renewal window (docs/card-lifecycle.md, "Renewal"): "notify"
# (the holder is e-mailed, the dashboard lists them, an officer asks for the renewal) or
# "request" (a renewal request is submitted as CARDFORGE_RENEWALS_SUBMITTED_BY, an account with
# the enrolment officer's role; another officer approves it as any request).
CARDFORGE_RENEWALS = env_str("CARDFORGE_RENEWALS", "notify")
CARDFORGE_RENEWALS_SUBMITTED_BY = env_str("CARDFORGE_RENEWALS_SUBMITTED_BY", "")
# The signer's queue (docs/signer.md); tests give each run its own.
CARDFORGE_SIGNER_QUEUE = env_str("CARDFORGE_SIGNER_QUEUE", "signer")
# The PKI's tasks sign with CA keys: the signer's worker runs them (docs/signer.md).
CELERY_TASK_ROUTES = {
    "pki.tasks.*": {"queue": CARDFORGE_SIGNER_QUEUE},
    # A report is signed with the platform's reports key, which only the signer can use.
    "reports.tasks.report_sign": {"queue": CARDFORGE_SIGNER_QUEUE},
}
CELERY_BEAT_SCHEDULE = {
    "pki-generate-crls": {
        "task": "pki.tasks.crls_generate",
        "schedule": PKI_CRL_REFRESH_MINUTES * 60.0,
    },
    "pki-renew-ocsp-responders": {
        "task": "pki.tasks.ocsp_responders_renew",
        "schedule": 24 * 3600.0,
    },
    "pki-audit-checkpoint": {"task": "pki.tasks.audit_checkpoint", "schedule": 30.0},
}


def _project_path(value: str | None) -> Path | None:
    """A path from the environment; a relative one is relative to the project."""
    return None if not value else BASE_DIR / value  # an absolute value replaces BASE_DIR


# Key attestation (pki/attestation.py, docs/signer.md "Attestation"): a directory of PEM files,
# the roots (self-signed) and vendor intermediates a card's attestation must chain to: vendor
# roots in production, the emulator factory's root in development (scripts/write-dotenv).
# Unset or missing: no attestation is trusted, and no slot that requires one is certified.
CARDFORGE_ATTESTATION_ROOTS = _project_path(env_str("CARDFORGE_ATTESTATION_ROOTS"))
# --- end PKI ---------------------------------------------------------------------------------

# The audit trail's signed checkpoints (audit/checkpoints.py, docs/audit.md): written by the
# signer's worker to this write-once store outside the database, read by verify_audit, at most
# every CARDFORGE_AUDIT_CHECKPOINT_EVENTS events and at least every ..._MINUTES while events come.
CARDFORGE_AUDIT_CHECKPOINT_DIR = _project_path(
    env_str("CARDFORGE_AUDIT_CHECKPOINT_DIR", str(VAR_DIR / "audit-checkpoints"))
)
CARDFORGE_AUDIT_CHECKPOINT_EVENTS = env_int(
    "CARDFORGE_AUDIT_CHECKPOINT_EVENTS", default=1000, minimum=1
)
CARDFORGE_AUDIT_CHECKPOINT_MINUTES = env_int(
    "CARDFORGE_AUDIT_CHECKPOINT_MINUTES", default=5, minimum=1
)
# PostgreSQL: the role the application connects as when it is not the tables' owner; the audit
# migration grants it read and append on the trail, never change (audit/guards.py).
CARDFORGE_DATABASE_APP_ROLE = env_str("CARDFORGE_DATABASE_APP_ROLE", "")

CARDFORGE_REQUIRE_SERVICES = env_bool("CARDFORGE_REQUIRE_SERVICES", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # every sign-in at INFO otherwise; lockouts stay
    },
}

VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Personalization (personalization/, docs/personalization.md) -----------------------------
# What a blank card from the supplier holds. The defaults are the PIV factory values of YubiKeys
# and of the emulator; a card programme with transport keys sets its own through the environment.
CARDFORGE_FACTORY_MANAGEMENT_KEY = env_secret("CARDFORGE_FACTORY_MANAGEMENT_KEY") or (
    "010203040506070801020304050607080102030405060708"
)
CARDFORGE_FACTORY_MANAGEMENT_KEY_ALGORITHM = env_str(
    "CARDFORGE_FACTORY_MANAGEMENT_KEY_ALGORITHM", "3des"
)
if CARDFORGE_FACTORY_MANAGEMENT_KEY_ALGORITHM not in {"3des", "aes128", "aes192", "aes256"}:
    msg = "CARDFORGE_FACTORY_MANAGEMENT_KEY_ALGORITHM must be 3des, aes128, aes192 or aes256"
    raise ImproperlyConfigured(msg)
CARDFORGE_FACTORY_PIN = env_secret("CARDFORGE_FACTORY_PIN") or "123456"
CARDFORGE_FACTORY_PUK = env_secret("CARDFORGE_FACTORY_PUK") or "12345678"
# The emulator factory's attestation CA (personalization/factory.py): a PEM file with its private
# key and certificate, which signs the attestation (F9) certificate of every blank emulated card
# made here. Unset: an emulated card's F9 certificate is self-signed and its keys attest nothing.
CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE = _project_path(
    env_str("CARDFORGE_EMULATOR_ATTESTATION_KEY_FILE")
)
# A station whose worker has not been heard from for this long shows as offline.
# The encoder stations whose jobs this worker process runs (run_station sets it to its one
# station); empty for the web and other workers, which then run no personalization task.
CARDFORGE_STATIONS = env_list("CARDFORGE_STATIONS", default=[])
# Where a station host keeps its private key, one file per station (`<name>.key`, mode 0600;
# docs/signer.md): it signs the station's requests to the signer and opens what the signer
# makes for its cards. Never on the signer's or the web's host in production.
CARDFORGE_STATION_KEYS_DIR = Path(
    env_str("CARDFORGE_STATION_KEYS_DIR") or BASE_DIR / "var" / "station-keys"
)
# A station's worker refuses to start where the signer's secrets (the KEK, the HSM PIN) can be
# read, unless this says station and signer share a host on purpose (development only).
CARDFORGE_DEVELOPMENT_SHARED_HOST = env_bool("CARDFORGE_DEVELOPMENT_SHARED_HOST", default=False)
# How long the print step waits for the station's printer to be ready, then for its print to
# end (personalization/runner/steps/printing.py), before failing the job.
CARDFORGE_PRINT_TIMEOUT_SECONDS = env_int("CARDFORGE_PRINT_TIMEOUT_SECONDS", default=300, minimum=1)
# How old a station's signed request may be when the signer reads it (its queue's latency).
CARDFORGE_SIGNER_REQUEST_MAX_AGE_SECONDS = env_int(
    "CARDFORGE_SIGNER_REQUEST_MAX_AGE_SECONDS", default=300, minimum=5
)
CARDFORGE_STATION_OFFLINE_SECONDS = env_int(
    "CARDFORGE_STATION_OFFLINE_SECONDS", default=45, minimum=5
)
# A running job whose worker has not reported for this long is requeued (the worker died).
CARDFORGE_JOB_STALE_SECONDS = env_int("CARDFORGE_JOB_STALE_SECONDS", default=60, minimum=1)
# While a step runs its worker beats for it (personalization/runner/heartbeat.py), for this long
# at most: a step still running then is taken for hung, and its job left to go stale.
CARDFORGE_STEP_MAX_SECONDS = env_int("CARDFORGE_STEP_MAX_SECONDS", default=600, minimum=1)
# A waiting job whose message seems lost (broker restart) is sent again after this long.
CARDFORGE_JOB_RESEND_SECONDS = env_int("CARDFORGE_JOB_RESEND_SECONDS", default=300, minimum=1)
# The card transport of each kind of encoder station (EncoderStation.transport), shaped like
# CACHES: BACKEND is a CardTransport subclass, OPTIONS its keyword arguments (`pcsc`: `exclusive`
# keeps other applications off the card for the whole job). Tests plug in transports of their own.
CARDFORGE_STATION_TRANSPORTS = {
    "emulated": {"BACKEND": "cardedge.transports.emulated.EmulatedTransport"},
    "pcsc": {"BACKEND": "cardedge.transports.pcsc.PcscTransport", "OPTIONS": {}},
}
CELERY_BEAT_SCHEDULE.update(
    {
        "personalization-requeue-stale-jobs": {
            "task": "personalization.tasks.requeue_stale_jobs",
            "schedule": 15.0,
        },
        "personalization-ping-stations": {
            "task": "personalization.tasks.ping_stations",
            "schedule": 15.0,
        },
        "cards-expire": {"task": "cards.tasks.expire_cards", "schedule": 3600.0},
        "cards-renewals-due": {"task": "cards.tasks.renewals_due", "schedule": 6 * 3600.0},
    }
)

# django-otp: the admin never shows a TOTP device's secret or its QR code (an administrator who
# could read an approver's seed could pass their second factor); those admin views answer 403.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
