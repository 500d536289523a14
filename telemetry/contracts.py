"""The two team services telemetry acts through, behind one seam each (docs/telemetry.md):

- contract A, ``sync.services.controls.effective_cron_set``: the back-off cron that overrides the
  operator's on the beat entry (None restores the operator's);
- contract B, ``notifications.services.notify``: fan-out of one message through the routing rules.
"""

from __future__ import annotations

from collections.abc import Mapping

from notifications import services as notifications
from sync.models import Project


def effective_cron_set(*, project: Project, cron: str | None, reason: str) -> None:
    from sync.services.controls import effective_cron_set as controls_effective_cron_set

    controls_effective_cron_set(project=project, cron=cron, reason=reason)


def notify(
    *,
    category: str,
    subject: str,
    text: str,
    facts: Mapping[str, str] | None = None,
    link: str = "",
    idempotency_key: str,
) -> None:
    notifications.notify(
        category=category, subject=subject, text=text, facts=facts, link=link, idempotency_key=idempotency_key
    )
