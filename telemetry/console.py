"""The operators' overview the admin index opens on: every project's schedule state, last result and
back-off level, read in one query. It lives in telemetry because the back-off level is telemetry's and
sync depends on no other app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sync import selectors
from sync.models import Project


@dataclass(frozen=True)
class ProjectRow:
    project_id: int
    key: str
    site: str
    job_id: int
    status: str
    cron: str
    next_run_at: datetime | None
    last_status: str
    last_error_code: str
    backoff_level: int
    backoff_category: str

    @property
    def paused(self) -> bool:
        return self.status == "PAUSED"


def project_rows() -> list[ProjectRow]:
    """Every registered project (with its job), ordered by site and key."""
    projects = (
        Project.objects.filter(sync_job__isnull=False)
        .select_related("site", "sync_job", "backoff")
        .annotate(
            last_status=selectors.run_last_value(column="status", project_ref="pk"),
            last_error_code=selectors.run_last_value(column="error_code", project_ref="pk"),
        )
        .order_by("site__name", "key")
    )
    rows = []
    for project in projects:
        job = project.sync_job
        backoff = getattr(project, "backoff", None)
        rows.append(
            ProjectRow(
                project_id=project.id,
                key=project.key,
                site=project.site.name,
                job_id=job.id,
                status=job.status,
                cron=job.active_cron,
                next_run_at=job.next_run_at,
                last_status=project.last_status or "",
                last_error_code=project.last_error_code or "",
                backoff_level=backoff.level if backoff else 0,
                backoff_category=backoff.category if backoff else "",
            )
        )
    return rows
