"""The COPY-based upsert of the sync's hot path, on PostgreSQL: inserts, updates, JSON nulls, escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from sync.models import Comment, Issue, JiraSite, Project
from sync.services import bulk

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

COLUMNS = ("site_id", "issue_id", "jira_id", "created", "updated", "body_adf", "body_text", "visibility")
WHEN = datetime(2024, 1, 31, 10, 15, tzinfo=UTC)
LATER = datetime(2024, 2, 1, 8, 0, tzinfo=UTC)


def upsert(rows):
    with transaction.atomic():
        bulk.upsert(Comment, COLUMNS, rows, conflict=("site_id", "jira_id"), update=COLUMNS[1:])


def test_upsert_inserts_then_updates_in_place_and_keeps_json_null_as_sql_null():
    assert connection.vendor == "postgresql"
    site = JiraSite.objects.create(name="s", base_url="https://s.example", api_token="t")
    project = Project.objects.create(site=site, key="P", jira_id=1)
    issue = Issue.objects.create(site=site, project=project, jira_id=5, key="P-1", created=WHEN, updated=WHEN)
    text = 'it\'s "quoted"\t\\ and\nnew — ünïcode'
    adf = {"type": "doc", "version": 1, "content": [{"type": "text", "text": text}]}
    s, i = site.id, issue.id

    upsert([(s, i, 10, WHEN, WHEN, adf, text, {"type": "role"}), (s, i, 11, WHEN, WHEN, None, "", None)])
    first_pk = Comment.objects.get(jira_id=10).pk
    upsert([(s, i, 10, WHEN, LATER, None, "edited", None)])

    edited = Comment.objects.get(jira_id=10)
    assert (edited.pk, edited.updated, edited.body_text, edited.body_adf) == (first_pk, LATER, "edited", None)
    assert Comment.objects.filter(body_adf__isnull=True, visibility__isnull=True).count() == 2  # SQL NULLs
    upsert([(s, i, 12, WHEN, WHEN, adf, text, {"type": "role"})])
    again = Comment.objects.get(jira_id=12)
    assert (again.body_adf, again.body_text, again.visibility) == (adf, text, {"type": "role"})
    assert Comment.objects.count() == 3
