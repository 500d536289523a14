from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from sync.api import views

router = SimpleRouter()
router.register("projects", views.ProjectViewSet, basename="project")
router.register("issues", views.IssueViewSet, basename="issue")
router.register("sync-jobs", views.SyncJobViewSet, basename="syncjob")
router.register("sprints", views.SprintViewSet, basename="sprint")
router.register("sites", views.SiteViewSet, basename="site")

urlpatterns = [
    path("", views.api_root, name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("schema/ui/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    *router.urls,
]
