"""REST reads: the same selectors as GraphQL, cursor pages, filters, errors as {code, message, field}."""

from __future__ import annotations

from typing import Any

import pytest

from sync.models import Issue, SyncLog, SyncRun, SyncState
from sync.services import runs
from tests.fixtures.sync import stored, wait_for_run

pytestmark = pytest.mark.integration


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.content[:500]
    return response.json()


def all_issue_pages(client: Any, url: str, between_pages: Any = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    pages = 0
    while url:
        page = ok(client.get(url))
        items += page["results"]
        pages += 1
        if between_pages:
            between_pages(pages)
        url = page["next"]
    return items


def test_issue_list_pages_equal_the_synced_rows(world, reader):
    items = all_issue_pages(reader, "/api/projects/ALPHA/issues/?page_size=40")

    expected = stored(world.alpha)
    assert [i["id"] for i in items] == [e["id"] for e in expected]
    for item, row in zip(items, expected, strict=True):
        assert item["key"] == row["key"] and item["summary"] == row["summary"]
        assert (item["assignee"] or {}).get("account_id") == row["assignee"]
        assert (item["reporter"] or {}).get("account_id") == row["reporter"]
        assert sorted(item["sprint_ids"]) == row["sprint_ids"]
        assert item["parent_id"] == row["parent_id"]
        assert sorted(item["labels"]) == row["labels"]


def test_issue_detail_has_comments_and_worklogs(world, reader):
    row = next(r for r in stored(world.alpha) if r["comments"] and r["worklogs"])
    detail = ok(reader.get(f"/api/issues/{row['key']}/"))

    assert detail["key"] == row["key"]
    assert sorted(c["id"] for c in detail["comments"]) == [c["id"] for c in row["comments"]]
    assert {c["id"]: c["body"] for c in detail["comments"]} == {
        c["id"]: c["body_text"] for c in row["comments"]
    }
    assert {w["id"]: w["time_spent_seconds"] for w in detail["worklogs"]} == {
        w["id"]: w["time_spent_seconds"] for w in row["worklogs"]
    }
    assert detail["description_text"] == Issue.objects.get(key=row["key"]).description_text


def test_issue_list_filters(world, reader):
    some = Issue.live.filter(project=world.alpha, assignee__isnull=False).order_by("jira_id")[0]
    assignee = some.assignee
    assert assignee is not None
    live = Issue.live.filter(project=world.alpha)

    def keys(query: str) -> set[str]:
        return {
            i["key"] for i in ok(reader.get(f"/api/projects/ALPHA/issues/?page_size=100&{query}"))["results"]
        }

    assert keys(f"assignee={assignee.account_id}") == set(
        live.filter(assignee=assignee).values_list("key", flat=True)
    )
    assert keys(f"status={some.status}") == set(live.filter(status=some.status).values_list("key", flat=True))
    sprint = some.sprints.first() or Issue.live.filter(sprints__isnull=False)[0].sprints.all()[0]
    assert keys(f"sprint={sprint.jira_id}") == set(live.filter(sprints=sprint).values_list("key", flat=True))
    middle = live.order_by("updated")[60].updated
    since = middle.isoformat().replace("+00:00", "Z")
    assert keys(f"updated_since={since}") == set(
        live.filter(updated__gte=middle).values_list("key", flat=True)
    )


def test_rest_pagination_is_stable_while_a_sync_updates_issues(world, reader):
    issue_ids = [i["id"] for i in world.fake.data.export("ALPHA")]
    touched = set(issue_ids[1::4])

    def update_during_paging(pages: int) -> None:
        if pages == 2:
            for issue_id in touched:
                world.fake.data.update_issue(issue_id, summary="edited between REST pages")
            assert (
                wait_for_run(runs.request_sync(project=world.alpha).run.id, timeout=120).status == "SUCCEEDED"
            )

    items = all_issue_pages(reader, "/api/projects/ALPHA/issues/?page_size=10", update_during_paging)

    keys = [i["key"] for i in items]
    assert len(keys) == len(set(keys)) == 120
    later = [i for i in items[20:] if i["id"] in touched]
    assert later and all(i["summary"] == "edited between REST pages" for i in later)


def test_page_size_is_capped(world, reader):
    page = ok(reader.get("/api/projects/ALPHA/issues/?page_size=1000"))
    assert len(page["results"]) == 100 and page["next"]


def test_issue_list_costs_a_constant_number_of_queries(world, reader, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        page = ok(reader.get("/api/projects/ALPHA/issues/?page_size=100"))
    assert len(page["results"]) == 100


def test_projects_jobs_states_runs_logs_sprints_users(world, reader):
    projects = ok(reader.get("/api/projects/"))
    assert [p["key"] for p in projects] == ["ALPHA", "BETA"]
    assert projects[0]["sync_job"]["cron"] == world.alpha.sync_job.cron
    assert ok(reader.get(f"/api/projects/{world.beta.jira_id}/"))["key"] == "BETA"

    job = ok(reader.get("/api/projects/BETA/sync-job/"))
    latest = SyncRun.objects.filter(project=world.beta).latest("created_at")
    assert job["workflow_run_id"] == latest.id and job["project"] == "BETA"
    assert job["workflow_id"] == f"sync:{world.site.id}:{world.beta.jira_id}"
    assert [j["project"] for j in ok(reader.get("/api/sync-jobs/"))] == ["ALPHA", "BETA"]

    states = ok(reader.get("/api/projects/BETA/states/"))
    assert {(s["entity"], s["status"]) for s in states} == set(
        SyncState.objects.filter(project=world.beta).values_list("entity", "status")
    )
    assert [r["id"] for r in ok(reader.get("/api/projects/BETA/runs/?limit=1"))] == [latest.id]
    logs = ok(reader.get("/api/projects/BETA/logs/?limit=3"))
    assert [entry["id"] for entry in logs] == list(
        SyncLog.objects.filter(project=world.beta)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)[:3]
    )
    sprints = ok(reader.get("/api/projects/ALPHA/sprints/"))
    assert sorted(s["id"] for s in sprints) == [s["id"] for s in world.fake.data.export_sprints("ALPHA")]
    users = ok(reader.get("/api/projects/ALPHA/users/"))
    assert {u["account_id"] for u in users} == {u["accountId"] for u in world.fake.data.export_users()}


@pytest.mark.parametrize(
    "case",
    [
        ("/api/projects/NOPE/issues/", 404, "NOT_FOUND", "project"),
        ("/api/projects/ALPHA/issues/?updated_since=yesterday", 400, "INVALID_INPUT", "updated_since"),
        ("/api/projects/ALPHA/issues/?sprint=abc", 400, "INVALID_INPUT", "sprint"),
        ("/api/projects/ALPHA/issues/?cursor=bogus", 400, "INVALID_INPUT", "cursor"),
        ("/api/projects/ALPHA/runs/?limit=1000", 400, "INVALID_INPUT", "limit"),
        ("/api/projects/ALPHA/logs/?level=LOUD", 400, "INVALID_INPUT", "level"),
        ("/api/issues/ALPHA-99999/", 404, "NOT_FOUND", "key"),
    ],
)
def test_bad_requests_are_errors_with_a_code_and_field(world, reader, case):
    url, status, code, field = case
    response = reader.get(url)

    assert response.status_code == status
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["message"]


def test_the_openapi_schema_and_its_ui_are_served(world, reader):
    schema = reader.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/projects/{key}/issues/" in paths
    ui = reader.get("/api/schema/ui/")
    assert ui.status_code == 200 and b"swagger" in ui.content.lower()
