"""/readyz: the system status for monitors. Public like /healthz, so it names the checks and says ok or
fail, nothing more (the details, such as the broker address, are for `manage.py doctor`)."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ops.status import Check, system_status

_memo: dict[str, tuple[float, list[Check]]] = {}
_memo_lock = threading.Lock()


def _status() -> list[Check]:
    # Asking the workers takes about a second: a public endpoint must not let probes multiply that work.
    with _memo_lock:
        last = _memo.get("status")
        if last is None or time.monotonic() - last[0] > settings.OPS_READYZ_CACHE_SECONDS:
            last = _memo["status"] = (time.monotonic(), system_status())
        return last[1]


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = _status()
    failing = [check.name for check in checks if not check.ok]
    return JsonResponse(
        {
            "status": "fail" if failing else "ok",
            "failing": failing,
            "checks": {check.name: "ok" if check.ok else "fail" for check in checks},
        },
        status=503 if failing else 200,
    )
