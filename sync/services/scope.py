"""Which issues a project's sync covers — the one place that decides it.

A project with tracked users syncs the issues assigned to *or* reported by a tracked account; a project
without tracked users syncs all of its issues. A run may narrow that to explicit account ids.
"""

from __future__ import annotations

from collections.abc import Sequence

from sync.models import Project, ProjectTrackedUser


def tracked_account_ids(*, project: Project) -> list[str]:
    return sorted(
        ProjectTrackedUser.objects.filter(project=project, is_tracked=True).values_list(
            "user__account_id", flat=True
        )
    )


def run_account_ids(*, project: Project, explicit: Sequence[str]) -> list[str]:
    return sorted(set(explicit)) if explicit else tracked_account_ids(project=project)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def issue_scope_jql(*, project_key: str, account_ids: Sequence[str], updated_since: str | None = None) -> str:
    """JQL restriction (no ORDER BY) for a project's issues; ``updated_since`` is a rendered JQL date."""
    clauses = [f"project = {_quote(project_key)}"]
    if account_ids:
        accounts = ", ".join(_quote(a) for a in account_ids)
        clauses.append(f"(assignee in ({accounts}) OR reporter in ({accounts}))")
    if updated_since:
        clauses.append(f"updated >= {_quote(updated_since)}")
    return " AND ".join(clauses)
