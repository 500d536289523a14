from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from core.audit.api import AuditList
from core.interfaces.graphql import graphql_view
from jiraplus.schema import FIELD_SCOPES, READ_CACHE_POLICY, schema
from ops.views import readyz
from sync.api.webhooks import jira_webhook
from telemetry.views import metrics


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "graphql",
        graphql_view(schema=schema, cache_policy=READ_CACHE_POLICY, field_scopes=FIELD_SCOPES),
    ),
    path("api/", include("sync.api.urls")),
    path("healthz", health),
    path("readyz", readyz, name="readyz"),
    path("webhooks/jira/<int:site_id>/", jira_webhook, name="jira-webhook"),
    path("metrics", metrics, name="metrics"),
    path("api/", include("orchestration.api.urls")),
    path("api/messages/", include("notifications.api")),
    path("api/audit/", AuditList.as_view(), name="audit-list"),
]
