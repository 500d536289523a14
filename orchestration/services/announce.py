"""Tell people through the communication service: approval needed, failure, success.

Called inside the transition's transaction, so the notification rows commit (or roll back) with the state
change; a notification problem never undoes a transition (savepoint + log).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from notifications.services import message_publish
from orchestration.models import Orchestration

logger = logging.getLogger(__name__)

_SUBJECTS = {
    "ORCHESTRATION_APPROVAL_NEEDED": "{key}: {phase} awaits your approval",
    "ORCHESTRATION_FAILED": "{key}: orchestration failed in {phase}",
    "ORCHESTRATION_SUCCEEDED": "{key}: orchestration succeeded",
}


def orchestration_event(orchestration: Orchestration, category: str, event_seq: int) -> None:
    subject = _SUBJECTS[category].format(key=orchestration.issue_key, phase=orchestration.current_phase)
    facts = {
        "issue": orchestration.issue_key,
        "orchestration": str(orchestration.id),
        "phase": orchestration.current_phase,
        "status": orchestration.status,
    }
    if orchestration.error_code:
        facts["error"] = orchestration.error_code
    text = subject + (f" — {orchestration.error_message}" if orchestration.error_message else "")
    link = f"{settings.ORCHESTRATION_LINK_BASE}/admin/orchestration/orchestration/{orchestration.id}/change/"
    try:
        with transaction.atomic():
            message_publish(
                category=category,
                subject=subject,
                text=text,
                facts=facts,
                link=link,
                idempotency_key=f"orchestration:{orchestration.id}:{event_seq}",
            )
    except Exception:
        logger.exception("could not notify %s for orchestration %s", category, orchestration.id)
