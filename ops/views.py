"""/readyz: the system status for monitors. Public like /healthz, so it names the checks and says ok or
fail, nothing more (the details, such as the broker address, are for `manage.py doctor`)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ops.status import system_status_recent


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = system_status_recent()
    failing = [check.name for check in checks if not check.ok]
    return JsonResponse(
        {
            "status": "fail" if failing else "ok",
            "failing": failing,
            "checks": {check.name: "ok" if check.ok else "fail" for check in checks},
        },
        status=503 if failing else 200,
    )
