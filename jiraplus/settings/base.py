"""The Django core: paths, security, apps, middleware, templates, i18n, logging, Sentry (static files and
HTTPS: web.py)."""

from __future__ import annotations

from pathlib import Path

from jiraplus.env import env_bool, env_float, env_list, env_str

# This file is one level below the package, so the project root is three parents up.
BASE_DIR = Path(__file__).resolve().parent.parent.parent

VAR_DIR = Path(env_str("JIRAPLUS_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", default=False)
_DEV_SECRET = "insecure-dev-key-only-for-the-embedded-profile"  # noqa: S105
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or _DEV_SECRET
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "graphene_django",
    "rest_framework",
    "rest_framework.authtoken",  # kept for its migrations: the access app hashes its keys and empties it
    "core.audit",
    "access",
    "sync",
    "orchestration",
    "notifications",
    "telemetry",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.context.RequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "jiraplus.urls"
WSGI_APPLICATION = "jiraplus.wsgi.application"
ASGI_APPLICATION = "jiraplus.asgi.application"

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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMS_URLFIELD_ASSUME_HTTPS = True

# --- Logging and Sentry ---------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL") or "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "core.redaction.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "urllib3": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
    },
}

SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    from jiraplus.observability import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT") or "production",
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )

DEMO_USERNAME = env_str("DEMO_USERNAME") or "demo"
DEMO_PASSWORD = env_str("DEMO_PASSWORD") or "demo-password"
