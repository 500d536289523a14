"""``POST /webhooks/jira/<site-id>/``: Jira's webhooks. The signature is the authentication.

The view hands the raw body to the service, which verifies it before anything is parsed, records the
event and enqueues its refresh after commit; the answer never waits for Jira.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import InvalidInput, NotAuthenticated, NotFound, ServiceError
from sync.services import webhooks

_STATUS = {NotFound: 404, NotAuthenticated: 401, webhooks.WebhooksDisabled: 403, InvalidInput: 400}


@csrf_exempt
@require_POST
def jira_webhook(request: HttpRequest, site_id: int) -> JsonResponse:
    try:
        receipt = webhooks.webhook_receive(
            site_id=site_id,
            body=request.body,
            signature=request.headers.get("X-Hub-Signature", ""),
            identifier=request.headers.get("X-Atlassian-Webhook-Identifier", ""),
        )
    except ServiceError as error:
        return JsonResponse({"error": error.to_dict()}, status=_STATUS.get(type(error), 400))
    # 2xx for duplicates and ignored events too: anything else makes Jira deliver them again.
    return JsonResponse({"status": receipt.status, "event": receipt.event}, status=202)
