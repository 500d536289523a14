"""The read and control APIs: REST framework, GraphQL, the OpenAPI schema."""

from __future__ import annotations

from jiraplus.env import env_int, env_str
from jiraplus.settings.base import INSTALLED_APPS

# --- APIs -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Reads need the token's `read` scope; every act checks its own scope with its permission.
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "core.interfaces.rest.ReadScope",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}
GRAPHENE = {"SCHEMA": "jiraplus.schema.schema"}

# --- Read and control APIs -----------------------------------------------------------------------
REST_FRAMEWORK.update(
    {
        "EXCEPTION_HANDLER": "core.interfaces.errors.rest_exception_handler",
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "DEFAULT_THROTTLE_CLASSES": [
            "rest_framework.throttling.AnonRateThrottle",
            "rest_framework.throttling.UserRateThrottle",
        ],
        "DEFAULT_THROTTLE_RATES": {
            "anon": env_str("API_THROTTLE_ANON_RATE") or "60/min",
            "user": env_str("API_THROTTLE_USER_RATE") or "1200/min",
        },
    }
)
INSTALLED_APPS.append("drf_spectacular")
SPECTACULAR_SETTINGS = {
    "TITLE": "Jira++ Data Integrator API",
    "DESCRIPTION": "Synced Jira data and the controls of its sync. Authenticate with "
    "`Authorization: Bearer <token>` (`python manage.py create_api_token NAME --user U --scope read`).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "core.interfaces.rest.ReadScope"],
}
# Failed token authentications allowed per minute per client address, and per token prefix.
API_AUTH_FAILURES_PER_MINUTE = env_int("API_AUTH_FAILURES_PER_MINUTE", 10)
# Sign-ins (the admin): failures allowed per address and per username before a lockout of this long.
LOGIN_FAILURES_ALLOWED = env_int("LOGIN_FAILURES_ALLOWED", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
GRAPHQL_MAX_DEPTH = env_int("GRAPHQL_MAX_DEPTH", 10)
GRAPHQL_MAX_ALIASES = env_int("GRAPHQL_MAX_ALIASES", 20)
# Rendered reads are shared through the cache until synced data changes (core/read_cache.py).
READ_CACHE_SECONDS = env_int("READ_CACHE_SECONDS", 300)

# One OpenAPI enum per orchestration choice set (they share field names with sync's).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "OrchestrationStatusEnum": "orchestration.models.Status",
    "OrchestrationPhaseEnum": "orchestration.models.Phase",
    "PhaseExecutionStateEnum": "orchestration.models.PhaseExecution.State",
    "AgentExecutionStatusEnum": "orchestration.models.AgentExecution.Status",
}
