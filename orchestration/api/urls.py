from rest_framework.routers import SimpleRouter

from orchestration.api.views import OrchestrationViewSet

router = SimpleRouter()
router.register("orchestrations", OrchestrationViewSet, basename="orchestration")
urlpatterns = router.urls
