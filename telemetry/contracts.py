"""Seam for contract A until branch issue5 lands: ``sync.services.controls.effective_cron_set`` sets the
back-off cron that overrides the operator's on the beat entry (None restores the operator's)."""

from __future__ import annotations

from sync.models import Project


def effective_cron_set(*, project: Project, cron: str | None, reason: str) -> None:
    from sync.services.controls import effective_cron_set as controls_effective_cron_set

    controls_effective_cron_set(project=project, cron=cron, reason=reason)
