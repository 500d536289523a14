from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from jiraplus.graphql import graphql_view


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql", graphql_view()),
    path("api/", include("sync.api.urls")),
    path("healthz", health),
]
