"""Which statements start a new read-cache version, and which GraphQL documents the cache may serve."""

from __future__ import annotations

import pytest

from core import read_cache
from core.interfaces.graphql import cacheable_query
from jiraplus.schema import READ_CACHE_POLICY, schema


def changes_cached_data(sql: str) -> bool:
    named_in = read_cache._Watched.named_in
    assert named_in is not None, "sync's ready() registers the Jira-data tables"
    return bool(read_cache._WRITE.match(sql) and named_in.search(sql))


@pytest.mark.parametrize(
    "sql",
    [
        'UPDATE "sync_issue" SET "summary" = %s WHERE "sync_issue"."id" = %s',
        'INSERT INTO "sync_comment" ("site_id", "jira_id") VALUES (%s, %s)',
        'INSERT INTO "sync_worklog" (a) SELECT a FROM "stage_sync_worklog_1a2b3c4d" '
        "ON CONFLICT (a) DO UPDATE SET a = EXCLUDED.a",
        'DELETE FROM "sync_issuesprint" WHERE "sync_issuesprint"."issue_id" IN (%s)',
        "  delete from sync_jirauser where id = 1",
        'TRUNCATE "auth_user", "sync_issuechange", "sync_syncrun"',
        'UPDATE "sync_project" SET "name" = %s',
    ],
)
def test_writes_to_jira_data_start_a_new_version(sql):
    assert changes_cached_data(sql)


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT "sync_issue"."id" FROM "sync_issue"',
        'UPDATE "sync_syncrun" SET "heartbeat_at" = %s WHERE "sync_syncrun"."id" = %s',
        'INSERT INTO "sync_synclog" ("message") VALUES (%s)',
        'TRUNCATE "stage_sync_issue_1a2b3c4d"',  # the per-session staging table of a bulk upsert
        'CREATE TEMP TABLE IF NOT EXISTS "stage_sync_issue_1a2b3c4d" AS SELECT a FROM "sync_issue"',
        'UPDATE "django_celery_beat_periodictask" SET "last_run_at" = %s',
    ],
)
def test_other_statements_do_not(sql):
    assert not changes_cached_data(sql)


@pytest.mark.parametrize(
    "query",
    [
        '{ issues(projectKey: "A") { totalCount pageInfo { endCursor } edges { node { key assignee '
        "{ displayName } comments { body author { accountId } } worklogs { timeSpent } } } } }",
        '{ issue(key: "A-1") { key parent { key } history { field to } sprint { name } } }',
        'query Named { projects { key name site } users(projectKey: "A") { accountId } }',
        'fragment F on Issue { key } query { issue(key: "A-1") { ...F } }',
    ],
)
def test_reads_of_synced_jira_data_are_cacheable(query):
    assert cacheable_query(schema, READ_CACHE_POLICY, query, None)


@pytest.mark.parametrize(
    ("query", "operation"),
    [
        ('{ issue(key: "A-1") { key timeInStatus { seconds } } }', None),
        ("{ projects { key syncJob { status } } }", None),
        ("fragment F on Project { syncJob { status } } query { projects { ...F } }", None),
        ('{ syncLogs(projectId: "A") { message } }', None),
        ("{ __schema { types { name } } }", None),
        ('mutation { pauseProjectSync(projectId: "A") { errors { code } } }', None),
        ("query A { projects { key } } query B { projects { key } }", None),  # which one?
        ("query A { projects { key } }", "B"),
        ('{ issue(key: "A-1") { noSuchField } }', None),
        ("{ not even graphql", None),
    ],
)
def test_everything_else_is_not(query, operation):
    assert not cacheable_query(schema, READ_CACHE_POLICY, query, operation)
