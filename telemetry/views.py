"""/metrics for Prometheus: a bearer token (TELEMETRY_METRICS_TOKEN) for scrapers, or a staff session."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from telemetry.metrics import exposition


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    expected = settings.TELEMETRY_METRICS_TOKEN
    token = _bearer_token(request)
    if token:
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return HttpResponse("Invalid metrics token.\n", status=403, content_type="text/plain")
    elif not request.user.is_authenticated:
        response = HttpResponse(
            "Authenticate with 'Authorization: Bearer <TELEMETRY_METRICS_TOKEN>' or a staff session.\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    elif not request.user.is_staff:
        return HttpResponse("Metrics are for staff users.\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
