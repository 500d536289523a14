"""The read cache: rendered reads are shared until synced data changes, and a committed change — by the
worker's sync, the ORM or raw SQL — is visible on the next request; what it must not serve, it never does."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import override_settings

from core import read_cache
from sync.models import Issue
from sync.services import runs
from tests.fixtures.sync import wait_for_run
from tests.sync.integration.api.test_graphql_reads import PAGE, data_of

pytestmark = pytest.mark.integration

BETA_PAGE = {"project": "BETA", "first": 100}


def served(response: Any) -> str | None:
    assert response.status_code == 200, response.content[:500]
    value: str | None = response.get(read_cache.HEADER)
    return value


def summaries(response: Any) -> dict[str, str]:
    edges = data_of(response)["issues"]["edges"]
    return {edge["node"]["key"]: edge["node"]["summary"] for edge in edges}


def test_a_graphql_page_is_rendered_once_then_served_as_rendered(world, reader, django_assert_num_queries):
    first = reader.gql(PAGE, BETA_PAGE)
    assert served(first) == "MISS"
    with django_assert_num_queries(1):  # the token; no Jira data is read
        again = reader.gql(PAGE, BETA_PAGE)
    assert served(again) == "HIT"
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    # Other variables are another entry.
    assert served(reader.gql(PAGE, {"project": "BETA", "first": 5})) == "MISS"


def test_a_batch_committed_by_the_worker_is_served_on_the_next_request(world, reader):
    issue = world.fake.data.export("BETA")[0]
    before = summaries(reader.gql(PAGE, BETA_PAGE))
    assert served(reader.gql(PAGE, BETA_PAGE)) == "HIT"

    world.fake.data.update_issue(issue["id"], summary="renamed in Jira, read through the cache")
    assert wait_for_run(runs.request_sync(project=world.beta).run.id, timeout=120).status == "SUCCEEDED"

    response = reader.gql(PAGE, BETA_PAGE)
    assert served(response) == "MISS"
    after = summaries(response)
    assert after[issue["key"]] == "renamed in Jira, read through the cache"
    assert {k: v for k, v in after.items() if k != issue["key"]} == {
        k: v for k, v in before.items() if k != issue["key"]
    }


def test_rest_reads_are_invalidated_by_any_committed_write(world, reader):
    issue = Issue.live.filter(project=world.beta).order_by("key").first()
    assert issue is not None
    url = f"/api/issues/{issue.key}/"
    assert served(reader.get(url)) == "MISS"
    assert served(reader.get(url)) == "HIT"
    try:
        Issue.objects.filter(id=issue.id).update(summary="changed by the ORM")  # autocommit
        response = reader.get(url)
        assert served(response) == "MISS" and response.json()["summary"] == "changed by the ORM"
        assert served(reader.get(url)) == "HIT"
        with connection.cursor() as cursor:  # what no signal would see
            cursor.execute('UPDATE "sync_issue" SET summary = %s WHERE id = %s', ["changed by SQL", issue.id])
        assert reader.get(url).json()["summary"] == "changed by SQL"
    finally:
        Issue.objects.filter(id=issue.id).update(summary=issue.summary)
    assert reader.get(url).json()["summary"] == issue.summary


def test_a_new_version_starts_when_a_write_commits_and_never_on_rollback(world):
    issue = Issue.live.filter(project=world.beta).order_by("key").first()
    assert issue is not None
    version = read_cache.current_version()
    with transaction.atomic():
        Issue.objects.filter(id=issue.id).update(summary=issue.summary)
        assert read_cache.current_version() == version  # readers still see the old data
    assert read_cache.current_version() != version

    version = read_cache.current_version()

    def write_then_fail() -> None:
        with transaction.atomic():
            Issue.objects.filter(id=issue.id).update(summary="never committed")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert read_cache.current_version() == version

    # Writes to tables the cached reads do not serve leave it alone (the sync trail is written all day).
    runs.request_sync(project=world.beta)
    assert read_cache.current_version() == version


@pytest.mark.parametrize(
    "query",
    [
        "{ projects { key syncJob { status lastRunAt } } }",  # the sync trail changes without a batch
        '{ issue(key: "BETA-1") { key timeInStatus { status seconds } } }',  # moves with the clock
        '{ syncRuns(projectId: "BETA") { id status } }',
        "{ __schema { queryType { name } } }",
        "{ orchestrations { id status } }",
    ],
)
def test_reads_of_changing_or_non_jira_data_are_never_cached(world, reader, query):
    for _ in range(2):
        response = reader.gql(query)
        assert served(response) is None
        assert "errors" not in response.json(), response.content[:300]


def test_mutations_and_errors_are_never_stored(world, operator, reader):
    mutation = 'mutation { pauseProjectSync(projectId: "BETA") { syncJob { status } errors { code } } }'
    try:
        for _ in range(2):
            assert served(operator.gql(mutation)) is None
    finally:
        operator.gql('mutation { resumeProjectSync(projectId: "BETA") { errors { code } } }')
    unknown = {"project": "NOPE", "first": 5}
    for _ in range(2):
        response = reader.gql(PAGE, unknown)
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert response.get(read_cache.HEADER) is None


def test_a_cached_page_still_needs_credentials(world, reader, anon):
    assert served(reader.gql(PAGE, BETA_PAGE)) == "MISS"
    assert served(reader.gql(PAGE, BETA_PAGE)) == "HIT"
    refused = anon.gql(PAGE, BETA_PAGE)
    assert refused.status_code in (401, 403) and b"BETA-" not in refused.content
    assert anon.get("/api/projects/BETA/issues/").status_code in (401, 403)


def test_the_browsable_rest_page_is_never_stored(world, staff_session):
    for _ in range(2):
        page = staff_session.get("/api/projects/BETA/issues/", HTTP_ACCEPT="text/html")
        assert page.status_code == 200 and page.get(read_cache.HEADER) is None
        assert b"staffer" in page.content  # it names its user: sharing it would be a leak


def test_rest_pages_keep_their_own_links(world, reader):
    url = "/api/projects/BETA/issues/?page_size=5"
    assert served(reader.get(url)) == "MISS"
    other_host = reader.get(url, HTTP_HOST="localhost")
    assert served(other_host) == "MISS"
    assert other_host.json()["next"].startswith("http://localhost/")


def test_with_the_cache_unreachable_reads_render_and_writes_commit(world):
    issue = Issue.live.filter(project=world.beta).order_by("key").first()
    assert issue is not None
    rendered = HttpResponse(b"{}", content_type="application/json")
    closed_port = "redis://127.0.0.1:1/0"
    nowhere = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": closed_port}}
    with override_settings(CACHES=nowhere):
        assert read_cache.current_version() is None
        assert read_cache.cached_response("test", ["key"], lambda: rendered) is rendered
        Issue.objects.filter(id=issue.id).update(summary="written while the cache is down")  # bump fails
    try:
        assert Issue.objects.get(id=issue.id).summary == "written while the cache is down"
    finally:
        Issue.objects.filter(id=issue.id).update(summary=issue.summary)
