"""History through GraphQL and REST: changelogs, time in status and sprint scope changes, N+1-free."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fakejira.timefmt import utc_z

HISTORY = """
query($first: Int!) {
  issues(projectKey: "ALPHA", first: $first) {
    edges { node {
      id key created
      history { id created field fieldType from to fromString toString author { accountId } }
      timeInStatus { status seconds }
      assignee { accountId }
    } }
  }
}
"""


def _fake_history(world: Any, issue_id: int) -> list[dict[str, Any]]:
    issue = world.fake.data.issues[issue_id]
    return [
        {
            "id": str(h.id),
            "field": item.field,
            "fieldType": item.fieldtype,
            "from": item.from_value,
            "to": item.to_value,
            "fromString": item.from_string,
            "toString": item.to_string,
            "author": {"accountId": h.author},
            "created": utc_z(h.created),
        }
        for h in sorted(issue.changelog, key=lambda h: (h.created, h.id))
        for item in h.items
    ]


def _iso(value: str) -> str:
    return utc_z(datetime.fromisoformat(value).astimezone(UTC))


def test_issue_history_and_time_in_status_equal_the_changelog(world, reader):
    response = reader.gql(HISTORY, {"first": 100})

    assert "errors" not in response.json(), response.json()
    nodes = [e["node"] for e in response.json()["data"]["issues"]["edges"]]
    assert sum(len(n["history"]) for n in nodes) > 100, "the data set must carry histories"
    for node in nodes:
        history = [{**h, "created": _iso(h["created"])} for h in node["history"]]
        assert history == _fake_history(world, int(node["id"])), node["key"]
        age = (datetime.now(UTC) - datetime.fromisoformat(node["created"])).total_seconds()
        spent = sum(s["seconds"] for s in node["timeInStatus"])
        assert spent == pytest.approx(age, abs=30)  # the server's now and ours differ by the request time
        assert node["timeInStatus"][-1]["status"] == world.fake.data.issues[int(node["id"])].status


def test_history_costs_the_same_queries_for_ten_issues_or_a_hundred(world, reader):
    counts = []
    for first in (10, 100):
        with CaptureQueriesContext(connection) as queries:
            assert "errors" not in reader.gql(HISTORY, {"first": first}).json()
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def _expected_scope(world: Any, sprint_id: int) -> list[tuple[str, str]]:
    data = world.fake.data
    sprint = data.sprints[sprint_id]
    expected = []
    for issue in data.project_issues("ALPHA"):
        for history in issue.changelog:
            if sprint.start_date is None or history.created <= sprint.start_date:
                continue
            if sprint.complete_date is not None and history.created > sprint.complete_date:
                continue
            for item in history.items:
                if item.field != "Sprint":
                    continue
                before = sprint_id in {int(s) for s in (item.from_value or "").split(", ") if s}
                after = sprint_id in {int(s) for s in (item.to_value or "").split(", ") if s}
                if before != after:
                    expected.append((history.created, history.id, issue.key, "added" if after else "removed"))
    return [(key, change) for _, _, key, change in sorted(expected)]


SCOPE = """
query($sprintId: ID!) {
  sprintScopeChanges(sprintId: $sprintId) {
    change at historyId author { accountId } issue { key summary assignee { accountId } }
  }
}
"""


def test_sprint_scope_changes_list_issues_added_and_removed_after_the_start(world, reader):
    data = world.fake.data
    sprints = [
        s.id
        for s in data.sprints.values()
        if data.boards[s.board_id].project_key == "ALPHA" and _expected_scope(world, s.id)
    ]
    assert sprints, "the data set must hold a sprint whose scope changed after it started"

    for sprint_id in sprints:
        with CaptureQueriesContext(connection) as queries:
            response = reader.gql(SCOPE, {"sprintId": str(sprint_id)})
        changes = response.json()["data"]["sprintScopeChanges"]
        assert [(c["issue"]["key"], c["change"]) for c in changes] == _expected_scope(world, sprint_id)
        assert len(queries) <= 12, [q["sql"][:80] for q in queries.captured_queries]

        rest = reader.get(f"/api/sprints/{sprint_id}/scope-changes/")
        assert rest.status_code == 200
        assert [(c["issue"]["key"], c["change"]) for c in rest.json()] == _expected_scope(world, sprint_id)


def test_unknown_sprint_is_a_not_found_error(world, reader):
    response = reader.gql(SCOPE, {"sprintId": "999999"})
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert reader.get("/api/sprints/999999/scope-changes/").status_code == 404


def test_rest_issue_history_equals_the_changelog(world, reader):
    issue = next(i for i in world.fake.data.project_issues("ALPHA") if len(i.changelog) >= 3)

    response = reader.get(f"/api/issues/{issue.key}/history/")

    assert response.status_code == 200, response.content
    body = response.json()
    expected = _fake_history(world, issue.id)
    assert [
        {
            "id": h["history_id"],
            "field": h["field"],
            "fieldType": h["field_type"],
            "from": h["from"],
            "to": h["to"],
            "fromString": h["from_string"],
            "toString": h["to_string"],
            "author": {"accountId": h["author"]["account_id"]},
            "created": _iso(h["created"]),
        }
        for h in body["history"]
    ] == expected
    assert [s["status"] for s in body["time_in_status"]][-1] == issue.status
