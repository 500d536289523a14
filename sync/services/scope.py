"""Which issues a project's sync covers — the one place that decides it.

A project with tracked users syncs the issues a tracked account is assigned to, reported, *or* logged
work on; a project without tracked users syncs all of its issues. A run may narrow that to explicit
account ids. The same rule has three forms here, and every part of sync uses them: the JQL a search
sends (``issue_scope_jql``), the check of one issue read from Jira (``record_in_scope``, for webhooks)
and the filter over stored issues (``stored_in_scope``, for reconciliation and purges).

Comments are not part of the rule: Jira Cloud's JQL cannot search by comment author (docs/sync.md,
"Scope").
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Exists, OuterRef, Q, QuerySet

from sync.jira.records import IssueRecord
from sync.models import Issue, Project, ProjectTrackedUser, Worklog


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
    """JQL restriction (no ORDER BY) for a project's issues; ``updated_since`` is a rendered JQL date.

    Logging, editing or deleting a worklog moves the issue's ``updated``, so a windowed search finds an
    issue that has just entered the scope through a worklog."""
    clauses = [f"project = {_quote(project_key)}"]
    if account_ids:
        accounts = ", ".join(_quote(a) for a in account_ids)
        clauses.append(
            f"(assignee in ({accounts}) OR reporter in ({accounts}) OR worklogAuthor in ({accounts}))"
        )
    if updated_since:
        clauses.append(f"updated >= {_quote(updated_since)}")
    return " AND ".join(clauses)


def record_in_scope(record: IssueRecord, account_ids: Sequence[str]) -> bool:
    """Whether an issue read from Jira is in scope; ``record.worklogs`` must be complete (overflow read),
    as ``worklogAuthor`` looks at every worklog. No accounts: every issue is."""
    if not account_ids:
        return True
    accounts = set(account_ids)
    people = {record.assignee, record.reporter, *(w.author for w in record.worklogs)}
    return bool(people & accounts)


def stored_in_scope(issues: QuerySet[Issue], account_ids: Sequence[str]) -> QuerySet[Issue]:
    """The stored ``issues`` in scope for these accounts, by what we store of them; all when none."""
    if not account_ids:
        return issues
    ids = sorted(set(account_ids))
    # Exists, not a join: an issue with several worklogs by tracked authors stays one row.
    worked = Exists(Worklog.objects.filter(issue_id=OuterRef("pk"), author__account_id__in=ids))
    return issues.filter(Q(assignee__account_id__in=ids) | Q(reporter__account_id__in=ids) | worked)
