"""Writes mapped Jira records into the database: idempotent upserts, older data never overwrites newer.

Callers own the transaction (a batch and its cursor commit together); every function here issues a
constant number of queries per batch, whatever its size. Issues are in ``issues``, their comments,
worklogs and changelog items in ``children``, users and sprints in ``users_sprints``.
"""

from sync.services.store.children import (
    apply_worklog_changes,
    delete_worklogs,
    upsert_worklogs,
    worklog_issue_ids,
)
from sync.services.store.issues import apply_issue_batch, mark_issues_deleted
from sync.services.store.users_sprints import upsert_sprints, upsert_users

__all__ = [
    "apply_issue_batch",
    "apply_worklog_changes",
    "delete_worklogs",
    "mark_issues_deleted",
    "upsert_sprints",
    "upsert_users",
    "upsert_worklogs",
    "worklog_issue_ids",
]
