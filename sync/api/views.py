"""REST entry point; the resources themselves arrive with the read and control APIs."""

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from sync.models import Project


@api_view(["GET"])
def api_root(request: Request) -> Response:
    return Response(
        {
            "graphql": request.build_absolute_uri("/graphql"),
            "admin": request.build_absolute_uri(reverse("admin:index")),
            "projects": [
                {"key": key, "name": name, "site": site}
                for key, name, site in Project.objects.order_by("key").values_list(
                    "key", "name", "site__name"
                )
            ],
        }
    )
