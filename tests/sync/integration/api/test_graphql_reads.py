"""GraphQL reads: values equal the synced rows, pages are stable and cheap, bad input is a coded error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.isotime import iso_utc
from sync.models import Issue, JiraUser, Sprint, SyncLog, SyncRun, SyncState
from tests.fixtures.sync import stored, wait_for_run

pytestmark = pytest.mark.integration

ISSUE_FIELDS = """
    id key summary status statusCategory priority issueType labels created updated resolved descriptionText
    assignee { accountId displayName active accountType }
    reporter { accountId }
    parent { id key }
    sprint { id name state }
    sprints { id name state startDate endDate completeDate goal }
    comments { id author { accountId } body bodyAdf created updated }
    worklogs { id author { accountId } timeSpent started updated }
"""

PAGE = (
    "query Page($project: String!, $first: Int, $after: String) {"
    "  issues(projectKey: $project, first: $first, after: $after) {"
    "    totalCount pageInfo { hasNextPage endCursor }"
    "    edges { cursor node { " + ISSUE_FIELDS + " } } } }"
)


def _iso(value: str | None) -> str | None:
    return iso_utc(datetime.fromisoformat(value)) if value else None


def as_export(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL issue in the export format of ``sync.selectors.issues_export``."""
    return {
        "id": node["id"],
        "key": node["key"],
        "summary": node["summary"],
        "status": node["status"],
        "priority": node["priority"] or None,
        "issuetype": node["issueType"],
        "assignee": node["assignee"]["accountId"] if node["assignee"] else None,
        "reporter": node["reporter"]["accountId"] if node["reporter"] else None,
        "parent_id": node["parent"]["id"] if node["parent"] else None,
        "labels": sorted(node["labels"]),
        "sprint_ids": sorted(int(s["id"]) for s in node["sprints"]),
        "created": _iso(node["created"]),
        "updated": _iso(node["updated"]),
        "resolved": _iso(node["resolved"]),
        "comments": sorted(
            (
                {
                    "id": c["id"],
                    "author": c["author"]["accountId"] if c["author"] else None,
                    "created": _iso(c["created"]),
                    "updated": _iso(c["updated"]),
                    "body_text": c["body"],
                }
                for c in node["comments"]
            ),
            key=lambda c: int(c["id"]),
        ),
        "worklogs": sorted(
            (
                {
                    "id": w["id"],
                    "author": w["author"]["accountId"] if w["author"] else None,
                    "started": _iso(w["started"]),
                    "time_spent_seconds": w["timeSpent"],
                    "updated": _iso(w["updated"]),
                }
                for w in node["worklogs"]
            ),
            key=lambda w: int(w["id"]),
        ),
    }


def data_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def all_pages(client: Any, project: str, first: int, between_pages: Any = None) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        page = data_of(client.gql(PAGE, {"project": project, "first": first, "after": after}))["issues"]
        nodes += [edge["node"] for edge in page["edges"]]
        pages += 1
        if between_pages:
            between_pages(pages)
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def test_issue_pages_equal_the_synced_rows(world, reader):
    nodes = all_pages(reader, "ALPHA", first=50)

    expected = stored(world.alpha)
    assert len(nodes) == len(expected) == 120
    assert [as_export(n) for n in nodes] == expected
    with_everything = [n for n in nodes if n["comments"] and n["worklogs"] and n["sprints"] and n["parent"]]
    assert with_everything, "the data set must exercise every relation"


def test_an_issue_carries_its_description_adf_and_current_sprint(world, reader):
    issue = Issue.live.filter(project=world.alpha, sprints__isnull=False).exclude(description_text="")[0]
    node = data_of(
        reader.gql("query($k: String!) { issue(key: $k) { " + ISSUE_FIELDS + " } }", {"k": issue.key})
    )["issue"]

    assert node["descriptionText"] == issue.description_text
    assert node["statusCategory"] == issue.status_category
    comment = issue.comments.order_by("created", "jira_id").first()
    if comment is not None:
        assert node["comments"][0]["bodyAdf"] == comment.body_adf
    sprints = list(issue.sprints.all())
    candidates = [s for s in sprints if s.state == "active"] or sprints
    expected = max(candidates, key=lambda s: (s.start_date is not None, s.start_date, s.jira_id))
    assert node["sprint"]["id"] == str(expected.jira_id)


def test_the_project_key_may_be_given_as_its_jira_id(world, reader):
    query = "query($p: String!) { issues(projectKey: $p, first: 5) { totalCount edges { node { key } } } }"
    by_key = data_of(reader.gql(query, {"p": "alpha"}))["issues"]
    by_id = data_of(reader.gql(query, {"p": str(world.alpha.jira_id)}))["issues"]

    assert by_key == by_id
    assert by_key["totalCount"] == 120


def test_issue_filters_narrow_the_list(world, reader):
    some = Issue.live.filter(project=world.alpha, assignee__isnull=False).order_by("jira_id")[0]
    assignee = some.assignee
    assert assignee is not None
    sprint = Sprint.objects.filter(project=world.alpha, issues__isnull=False)[0]
    middle = Issue.live.filter(project=world.alpha).order_by("updated")[60].updated
    query = """query($p: String!, $a: String, $s: String, $sp: ID, $u: DateTime) {
      issues(projectKey: $p, assignee: $a, status: $s, sprintId: $sp, updatedSince: $u, first: 100) {
        totalCount edges { node { key } } } }"""

    def keys(**variables: Any) -> set[str]:
        page = data_of(reader.gql(query, {"p": "ALPHA", **variables}))["issues"]
        assert page["totalCount"] == len(page["edges"])
        return {e["node"]["key"] for e in page["edges"]}

    live = Issue.live.filter(project=world.alpha)
    assert keys(a=assignee.account_id) == set(live.filter(assignee=assignee).values_list("key", flat=True))
    assert keys(s=some.status.upper()) == set(live.filter(status=some.status).values_list("key", flat=True))
    assert keys(sp=str(sprint.jira_id)) == set(live.filter(sprints=sprint).values_list("key", flat=True))
    assert keys(u=middle.isoformat()) == set(live.filter(updated__gte=middle).values_list("key", flat=True))


def test_pagination_is_stable_while_a_sync_updates_issues(world, reader):
    fake = world.fake
    issue_ids = [i["id"] for i in fake.data.export("ALPHA")]

    def update_during_paging(pages: int) -> None:
        if pages != 2:
            return
        # Touch issues on pages already read and pages still to come, then sync them in for real.
        for n, issue_id in enumerate(issue_ids[::3]):
            fake.data.update_issue(issue_id, summary=f"renamed while paging {n}")
        from sync.services import runs

        request = runs.request_sync(project=world.alpha)
        assert wait_for_run(request.run.id, timeout=120).status == "SUCCEEDED"

    nodes = all_pages(reader, "ALPHA", first=10, between_pages=update_during_paging)

    keys = [n["key"] for n in nodes]
    assert len(keys) == len(set(keys)) == 120, "an issue was skipped or served twice"
    later = [n for n in nodes[20:] if n["id"] in set(issue_ids[::3])]
    assert later and all(n["summary"].startswith("renamed while paging") for n in later)


@pytest.mark.parametrize("first", [10, 100])
def test_a_page_costs_a_constant_number_of_queries(world, reader, first, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        page = data_of(reader.gql(PAGE, {"project": "ALPHA", "first": first}))["issues"]
    assert len(page["edges"]) == first


def test_page_size_does_not_change_the_query_count(world, reader):
    counts = []
    for first in (5, 100):
        with CaptureQueriesContext(connection) as queries:
            data_of(reader.gql(PAGE, {"project": "ALPHA", "first": first}))
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_projects_with_their_sync_job(world, reader):
    data = data_of(
        reader.gql(
            """{ projects { id key name site syncJob { id workflowId workflowRunId scheduleId periodicTaskId
                 cronSchedule effectiveCron status lastRunAt nextRunAt } } }"""
        )
    )
    projects = {p["key"]: p for p in data["projects"]}
    assert set(projects) == {"ALPHA", "BETA"}
    alpha = projects["ALPHA"]
    job = world.alpha.sync_job
    job.refresh_from_db()
    latest = SyncRun.objects.filter(project=world.alpha).latest("created_at")
    assert alpha["id"] == str(world.alpha.jira_id) and alpha["site"] == "planted"
    assert alpha["syncJob"]["id"] == str(job.id)
    assert alpha["syncJob"]["workflowId"] == f"sync:{world.site.id}:{world.alpha.jira_id}"
    assert alpha["syncJob"]["workflowRunId"] == str(latest.id)
    assert alpha["syncJob"]["scheduleId"] == job.periodic_task.name
    assert alpha["syncJob"]["periodicTaskId"] == str(job.periodic_task_id)
    assert alpha["syncJob"]["cronSchedule"] == job.cron == alpha["syncJob"]["effectiveCron"]
    assert alpha["syncJob"]["status"] == job.status


def test_sprints_and_users_of_a_project(world, reader):
    data = data_of(
        reader.gql(
            """query { sprints(projectKey: "ALPHA") { id name state }
                       users(projectKey: "ALPHA") { accountId displayName active accountType } }"""
        )
    )
    assert sorted(int(s["id"]) for s in data["sprints"]) == [
        s["id"] for s in world.fake.data.export_sprints("ALPHA")
    ]
    rows = {u.account_id: u for u in JiraUser.objects.filter(site=world.site)}
    assert (
        {u["accountId"] for u in data["users"]}
        == set(rows)
        == {u["accountId"] for u in world.fake.data.export_users()}
    )
    for user in data["users"]:
        row = rows[user["accountId"]]
        assert (user["displayName"], user["active"], user["accountType"]) == (
            row.display_name,
            row.active,
            row.account_type,
        )


def test_sync_states_runs_and_logs(world, reader):
    data = data_of(
        reader.gql(
            """query($p: ID!) {
              syncStates(projectId: $p) { entity lastSyncTime status syncStatus lastErrorCode }
              syncRuns(projectId: $p, limit: 1) { id status full counts }
              syncLogs(projectId: $p, limit: 2) { level message details createdAt }
            }""",
            {"p": str(world.beta.jira_id)},
        )
    )
    states = {s.entity: s for s in SyncState.objects.filter(project=world.beta)}
    assert {s["entity"] for s in data["syncStates"]} == set(states)
    for state in data["syncStates"]:
        assert state["status"] == state["syncStatus"] == states[state["entity"]].status
        assert _iso(state["lastSyncTime"]) == iso_utc(states[state["entity"]].last_sync_time)
    run = SyncRun.objects.filter(project=world.beta).latest("created_at")
    assert data["syncRuns"] == [
        {"id": str(run.id), "status": run.status, "full": run.full, "counts": run.counts}
    ]
    logs = list(SyncLog.objects.filter(project=world.beta).order_by("-created_at", "-id")[:2])
    assert [(log["level"], log["message"], log["details"]) for log in data["syncLogs"]] == [
        (log.level, log.message, log.details) for log in logs
    ]


def test_jira_project_options_are_read_live_from_jira(world, reader):
    world.fake.reset_counters()
    data = data_of(reader.gql('{ jiraProjectOptions(siteId: "planted") { id key name registered } }'))

    assert world.fake.request_count("/rest/api/3/project") >= 1
    assert {(o["key"], o["registered"]) for o in data["jiraProjectOptions"]} == {
        ("ALPHA", True),
        ("BETA", True),
    }
    by_id = data_of(reader.gql(f"{{ jiraProjectOptions(siteId: {world.site.id}) {{ key }} }}"))
    assert {o["key"] for o in by_id["jiraProjectOptions"]} == {"ALPHA", "BETA"}


def test_jira_project_user_options_are_read_live_from_jira(world, reader):
    world.fake.reset_counters()
    data = data_of(
        reader.gql('{ jiraProjectUserOptions(projectId: "ALPHA") { accountId displayName active tracked } }')
    )

    assert world.fake.request_count("/rest/api/3/user/assignable/search") >= 1
    expected = {
        u["accountId"]
        for u in world.fake.data.export_users()
        if u["active"] and u["accountType"] == "atlassian"
    }
    assert {o["accountId"] for o in data["jiraProjectUserOptions"]} == expected


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ('{ issues(projectKey: "NOPE") { totalCount } }', "NOT_FOUND", "projectKey"),
        ('{ issues(projectKey: "ALPHA", first: 101) { totalCount } }', "INVALID_INPUT", "first"),
        ('{ issues(projectKey: "ALPHA", first: 0) { totalCount } }', "INVALID_INPUT", "first"),
        ('{ issues(projectKey: "ALPHA", after: "not-a-cursor") { totalCount } }', "INVALID_INPUT", "after"),
        ('{ issues(projectKey: "ALPHA", sprintId: "x") { totalCount } }', "INVALID_INPUT", "sprintId"),
        ('{ issue(key: "ALPHA-99999") { key } }', "NOT_FOUND", "key"),
        ('{ syncRuns(projectId: "424242") { id } }', "NOT_FOUND", "projectId"),
        ('{ jiraProjectOptions(siteId: "nowhere") { key } }', "NOT_FOUND", "siteId"),
    ],
)
def test_bad_arguments_are_errors_with_a_code_and_field(world, reader, query, code, field):
    body = reader.gql(query).json()

    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["extensions"]["field"] == field
    assert body["errors"][0]["message"]
