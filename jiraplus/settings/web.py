"""Serving the web process in production: static files through WhiteNoise, and HTTPS behind a TLS proxy.

Everything here is opt-in from the environment; with nothing set the embedded profile behaves as before.
"""

from __future__ import annotations

from pathlib import Path

from jiraplus.env import env_bool, env_int, env_str
from jiraplus.settings.base import DEBUG, MIDDLEWARE, VAR_DIR

# --- Static files ---------------------------------------------------------------------------------
# WhiteNoise serves collected files from the web process itself (gunicorn has no static handler), right
# after SecurityMiddleware so HTTPS redirects still come first.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT") or VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing directory on every start
_MANIFEST = STATIC_ROOT / "staticfiles.json"
# Hashed, compressed names need a collected manifest: without one `{% static %}` raises, so the manifest
# storage is used when `collectstatic` wrote one (outside DEBUG, where files change under the dev server),
# or when forced on (the Dockerfile's collectstatic, which writes it).
_USE_MANIFEST = (
    env_bool("DJANGO_STATIC_MANIFEST")
    if env_str("DJANGO_STATIC_MANIFEST")
    else not DEBUG and _MANIFEST.exists()
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _USE_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Behind a TLS-terminating proxy ---------------------------------------------------------------
# Trusting X-Forwarded-Proto is only safe when the proxy always sets it, so it is opt-in.
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT")
# The container health check calls /healthz over plain HTTP from inside the container.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE")
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS")
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD")
