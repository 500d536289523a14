from django.contrib import admin
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView

from sync.api.views import api_root


class AuthenticatedGraphQLView(LoginRequiredMixin, GraphQLView):
    raise_exception = True  # 403 instead of a login redirect for API clients


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("graphql", csrf_exempt(AuthenticatedGraphQLView.as_view(graphiql=True))),
    path("api/", api_root, name="api-root"),
    path("healthz", health),
    path("api/", include("orchestration.api.urls")),
]
