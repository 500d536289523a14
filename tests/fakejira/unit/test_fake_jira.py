"""The fake Jira behaves like the real Jira REST API (paging, errors, changelogs, webhooks) over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from fakejira import FakeData, FakeDataConfig, FakeJira, Fault

Factory = Callable[..., FakeJira]
FIXED_END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def http(fake_jira: FakeJira) -> Iterator[requests.Session]:
    with _session(fake_jira) as session:
        yield session


def _session(fake: FakeJira) -> requests.Session:
    session = requests.Session()
    session.auth = (fake.email, fake.api_token)
    return session


def _search(session: requests.Session, fake: FakeJira, **body: Any) -> requests.Response:
    return session.post(f"{fake.base_url}/rest/api/3/search/jql", json=body, timeout=10)


def _walk(session: requests.Session, fake: FakeJira, jql: str, **body: Any) -> tuple[list[str], int]:
    """Every issue id of a search, in page order, and the number of requests it took."""
    ids: list[str] = []
    token = None
    pages = 0
    while True:
        payload = {"jql": jql, **body, **({"nextPageToken": token} if token else {})}
        page = _search(session, fake, **payload).json()
        pages += 1
        ids.extend(issue["id"] for issue in page["issues"])
        token = page.get("nextPageToken")
        if page["isLast"]:
            assert token is None
            return ids, pages


def _issue(fake: FakeJira, ref: str) -> str:
    issue = fake.data.find_issue(ref)
    assert issue is not None
    return str(issue.id)


def _live_ids(fake: FakeJira, project: str) -> list[str]:
    return [issue["id"] for issue in fake.data.export(project)]


# -- data ------------------------------------------------------------------------------------------
def test_generation_is_deterministic_for_a_seed() -> None:
    config = FakeDataConfig(seed=3, projects={"ALPHA": 60, "BETA": 20}, end=FIXED_END)
    first, second = FakeData(config), FakeData(config)
    assert first.export("ALPHA") == second.export("ALPHA")
    assert first.export_users() == second.export_users()
    assert first.export_sprints("BETA") == second.export_sprints("BETA")
    other = FakeData(FakeDataConfig(seed=4, projects={"ALPHA": 60, "BETA": 20}, end=FIXED_END))
    assert other.export("ALPHA") != first.export("ALPHA")


def test_generated_data_has_the_documented_shape() -> None:
    data = FakeData(FakeDataConfig(seed=1, projects={"ALPHA": 300, "BETA": 100}, end=FIXED_END))
    issues = data.export("ALPHA") + data.export("BETA")
    assert [int(i["id"]) for i in data.export("ALPHA")] == sorted(int(i["id"]) for i in data.export("ALPHA"))
    assert min(int(i["id"]) for i in issues) == 10000
    assert {i["issuetype"] for i in issues} == {"Epic", "Story", "Task", "Bug", "Sub-task"}
    assert all(i["parent_id"] for i in issues if i["issuetype"] == "Sub-task")
    assert 0.55 < sum(1 for i in issues if i["sprint_ids"]) / len(issues) < 0.85
    assert any(len(i["sprint_ids"]) > 1 for i in issues)  # carried-over issues
    assert any(i["assignee"] is None for i in issues)
    users = {u["accountId"]: u for u in data.export_users()}
    assert len(users) == 23  # 20 people, the API user, one app, one former user
    assert any(users[i["reporter"]]["accountType"] == "app" for i in issues if i["reporter"])
    assert any(not users[i["reporter"]]["active"] for i in issues if i["reporter"])
    comment_ids = [c["id"] for i in issues for c in i["comments"]]
    worklog_ids = [w["id"] for i in issues for w in i["worklogs"]]
    assert len(set(comment_ids + worklog_ids)) == len(comment_ids) + len(worklog_ids)
    assert 3.5 < len(comment_ids) / len(issues) < 5.5
    assert all(i["resolved"] for i in issues if i["status"] == "Done")
    assert all(i["resolved"] is None for i in issues if i["status"] != "Done")
    states = [s["state"] for s in data.export_sprints("ALPHA")]
    assert states == ["closed"] * 4 + ["active", "future"]


def test_generating_two_thousand_issues_is_fast() -> None:
    started = time.perf_counter()
    data = FakeData(FakeDataConfig(seed=1, projects={"ALPHA": 1000, "BETA": 1000}))
    assert time.perf_counter() - started < 2.0
    assert len(data.issues) == 2000


# -- search ----------------------------------------------------------------------------------------
def test_search_pages_walk_every_issue_exactly_once(fake_jira: FakeJira, http: requests.Session) -> None:
    ids, pages = _walk(http, fake_jira, "project = ALPHA ORDER BY updated ASC", maxResults=25)
    assert sorted(ids, key=int) == _live_ids(fake_jira, "ALPHA")
    assert len(ids) == len(set(ids)) == 120
    assert pages == 5


def test_search_response_has_no_total_and_default_fields_are_ids_only(
    fake_jira: FakeJira, http: requests.Session
) -> None:
    page = http.get(
        f"{fake_jira.base_url}/rest/api/3/search/jql", params={"jql": "project = BETA", "maxResults": "5"}
    ).json()
    assert set(page) == {"issues", "nextPageToken", "isLast"}
    assert page["isLast"] is False
    assert all(set(issue) == {"id", "key", "self"} for issue in page["issues"])


def test_pages_hold_100_issues_with_fields_and_5000_with_ids_only(
    fake_jira_factory: Factory,
) -> None:
    fake = fake_jira_factory(FakeDataConfig(seed=2, projects={"ALPHA": 260}, comments_per_issue=0.5))
    with _session(fake) as session:
        with_fields = _search(
            session, fake, jql="project = ALPHA", maxResults=1000, fields=["summary"]
        ).json()
        ids_only = _search(session, fake, jql="project = ALPHA", maxResults=1000, fields=["id", "key"]).json()
        _, pages = _walk(session, fake, "project = ALPHA", maxResults=1000, fields=["*all"])
    assert len(with_fields["issues"]) == 100
    assert len(ids_only["issues"]) == 260
    assert ids_only["isLast"] is True
    assert pages == 3


def test_field_selection_supports_all_navigable_and_exclusions(
    fake_jira: FakeJira, http: requests.Session
) -> None:
    def fields_of(**body: Any) -> set[str]:
        return set(
            _search(http, fake_jira, jql="project = BETA", maxResults=1, **body).json()["issues"][0]["fields"]
        )

    assert {"comment", "worklog", "customfield_10020", "customfield_10016"} <= fields_of(fields=["*all"])
    assert "comment" not in fields_of(fields=["*navigable"])
    assert "description" not in fields_of(fields=["*all", "-description"])
    assert fields_of(fields="summary,status") == {"summary", "status"}


def test_search_rejects_unknown_body_properties(fake_jira: FakeJira, http: requests.Session) -> None:
    response = _search(http, fake_jira, jql="project = ALPHA", startAt=50)
    assert response.status_code == 400
    assert "startAt" in response.json()["errorMessages"][0]


def test_embedded_comments_stop_at_20_and_the_comment_endpoint_pages_the_rest(
    fake_jira: FakeJira, http: requests.Session
) -> None:
    issue_id = _live_ids(fake_jira, "BETA")[0]
    while len(fake_jira.data.export("BETA")[0]["comments"]) < 27:
        fake_jira.data.add_comment(issue_id, "one more")
    issue = http.get(
        f"{fake_jira.base_url}/rest/api/3/issue/{issue_id}", params={"fields": "comment,worklog"}
    )
    embedded = issue.json()["fields"]["comment"]
    assert len(embedded["comments"]) == 20
    assert embedded["total"] == 27
    assert embedded["maxResults"] == 20
    created = [c["created"] for c in embedded["comments"]]
    assert created == sorted(created, key=lambda ts: datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z"))
    seen: list[str] = []
    while len(seen) < 27:
        page = http.get(
            f"{fake_jira.base_url}/rest/api/3/issue/{issue_id}/comment",
            params={"startAt": str(len(seen)), "maxResults": "10", "orderBy": "created"},
        ).json()
        assert page["total"] == 27
        seen.extend(c["id"] for c in page["comments"])
    assert seen == [c["id"] for c in fake_jira.data.export("BETA")[0]["comments"]]


def test_timestamps_are_rendered_in_the_api_users_zone(fake_jira_factory: Factory) -> None:
    fake = fake_jira_factory(FakeDataConfig(seed=5, projects={"ALPHA": 10}, time_zone="Pacific/Chatham"))
    with _session(fake) as session:
        me = session.get(f"{fake.base_url}/rest/api/3/myself").json()
        issue = session.get(f"{fake.base_url}/rest/api/3/issue/ALPHA-1").json()
    assert me["timeZone"] == "Pacific/Chatham"
    assert me["emailAddress"] == fake.email
    rendered = datetime.strptime(issue["fields"]["updated"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert rendered.utcoffset() in (timedelta(hours=12, minutes=45), timedelta(hours=13, minutes=45))
    exported = fake.data.export("ALPHA")[0]["updated"]
    assert rendered == datetime.fromisoformat(exported.replace("Z", "+00:00"))


@pytest.mark.parametrize("month", [1, 7])  # Chatham is +13:45 in January (DST) and +12:45 in July
def test_jql_dates_are_read_in_the_users_zone_at_minute_granularity(
    fake_jira_factory: Factory, month: int
) -> None:
    zone = ZoneInfo("Pacific/Chatham")
    fake = fake_jira_factory(
        FakeDataConfig(seed=11, projects={"ALPHA": 200}, time_zone="Pacific/Chatham", end=FIXED_END)
    )
    issues = fake.data.project_issues("ALPHA")
    pivot = next(i for i in issues if i.created.astimezone(zone).month == month)
    local_minute = pivot.created.astimezone(zone).replace(second=0, microsecond=0)
    bound = local_minute.astimezone(UTC)
    expected = sorted(str(i.id) for i in issues if i.created >= bound)
    with _session(fake) as session:
        for text in (local_minute.strftime("%Y/%m/%d %H:%M"), local_minute.strftime("%Y-%m-%d %H:%M")):
            ids, _ = _walk(session, fake, f'project = ALPHA AND created >= "{text}"', maxResults=5000)
            assert sorted(ids) == expected
            assert str(pivot.id) in ids
        later = (local_minute + timedelta(minutes=1)).strftime("%Y/%m/%d %H:%M")
        ids, _ = _walk(session, fake, f'project = ALPHA AND created >= "{later}"', maxResults=5000)
        assert str(pivot.id) not in ids


def test_jql_operators_and_relative_dates(fake_jira: FakeJira, http: requests.Session) -> None:
    data = fake_jira.data
    someone = next(i.assignee for i in data.project_issues("ALPHA") if i.assignee)

    def ids(jql: str) -> set[str]:
        return set(_walk(http, fake_jira, jql, maxResults=5000)[0])

    alpha = data.project_issues("ALPHA")
    assert ids(f'project = ALPHA AND assignee = "{someone}"') == {
        str(i.id) for i in alpha if i.assignee == someone
    }
    assert ids("project = ALPHA AND assignee is EMPTY") == {str(i.id) for i in alpha if i.assignee is None}
    assert ids("project in (ALPHA, beta)") == {str(i) for i in data.issues}
    assert ids("key in (ALPHA-1, BETA-2) OR id = 10003") == {
        _issue(fake_jira, k) for k in ("ALPHA-1", "BETA-2", "10003")
    }
    sprint = next(s for i in alpha for s in i.sprint_ids)
    assert ids(f"sprint = {sprint}") == {str(i.id) for i in data.issues.values() if sprint in i.sprint_ids}
    data.advance(3600)  # generated history ends five minutes ago
    issue_id = data.update_issue(alpha[0].id, summary="touched")
    assert ids("project = ALPHA AND updated >= -15m") == {issue_id}
    count = http.post(
        f"{fake_jira.base_url}/rest/api/3/search/approximate-count", json={"jql": "project = BETA"}
    )
    assert count.json() == {"count": 30}


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("", "Unbounded JQL queries are not allowed here"),
        ("ORDER BY updated DESC", "Unbounded JQL queries are not allowed here"),
        ("foo = 1", "Field 'foo' does not exist or you do not have permission to view it."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("project in (ALPHA, NOPE)", "The value 'NOPE' does not exist for the field 'project'."),
        ("project = ALPHA AND (updated > ", "Error in the JQL Query:"),
        ("project = ALPHA updated", "Error in the JQL Query: Expecting either 'OR' or 'AND'"),
        ('updated >= "31/01/2024"', "Date value '31/01/2024' for field 'updated' is invalid."),
    ],
)
def test_bad_jql_is_a_400_with_jiras_wording(
    fake_jira: FakeJira, http: requests.Session, jql: str, message: str
) -> None:
    response = _search(http, fake_jira, jql=jql)
    assert response.status_code == 400
    assert message in response.json()["errorMessages"][0]


def test_paging_stays_exact_while_issues_are_deleted_and_created(
    fake_jira: FakeJira, http: requests.Session
) -> None:
    jql = "project = ALPHA ORDER BY id ASC"
    first = _search(http, fake_jira, jql=jql, maxResults=30).json()
    seen = [issue["id"] for issue in first["issues"]]
    fake_jira.data.delete_issue(seen[0])  # before the cursor
    unseen = _live_ids(fake_jira, "ALPHA")[40]
    fake_jira.data.delete_issue(unseen)  # after the cursor
    new_id = fake_jira.data.add_issue("ALPHA", summary="created mid-walk")
    ids, _ = _walk(http, fake_jira, jql, maxResults=30, nextPageToken=first["nextPageToken"])
    # Exactly the live issues after the cursor, each once, whatever changed before or after it.
    assert ids == [i for i in _live_ids(fake_jira, "ALPHA") if int(i) > int(seen[-1])]
    assert new_id in ids
    assert unseen not in ids


# -- auth ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("auth", [("api-user@example.com", "wrong-token"), None])
def test_bad_credentials_give_empty_searches_and_401_elsewhere(fake_jira: FakeJira, auth: Any) -> None:
    base = fake_jira.base_url
    search = requests.get(
        f"{base}/rest/api/3/search/jql", params={"jql": "project = ALPHA"}, auth=auth, timeout=5
    )
    assert search.status_code == 200
    assert search.json() == {"issues": [], "isLast": True}
    assert search.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    projects = requests.get(f"{base}/rest/api/3/project/search", auth=auth, timeout=5)
    assert projects.status_code == 200
    assert projects.json()["values"] == []
    assert projects.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    for path in (
        "/rest/api/3/myself",
        "/rest/api/3/worklog/updated",
        "/rest/agile/1.0/board",
        "/rest/api/3/field",
    ):
        response = requests.get(base + path, auth=auth, timeout=5)
        assert response.status_code == 401
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.text == "Client must be authenticated to access this resource."


def test_good_credentials_are_marked_ok(fake_jira: FakeJira, http: requests.Session) -> None:
    response = http.get(f"{fake_jira.base_url}/rest/api/3/myself")
    assert response.status_code == 200
    assert response.headers["X-Seraph-LoginReason"] == "OK"
    assert http.get(f"{fake_jira.base_url}/status").json() == {"state": "RUNNING"}


def test_data_center_uses_a_bearer_pat_and_offset_search(fake_jira_factory: Factory) -> None:
    fake = fake_jira_factory(FakeDataConfig(seed=1, projects={"ALPHA": 40}, deployment="DataCenter"))
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {fake.pat}"
    info = session.get(f"{fake.base_url}/rest/api/2/serverInfo").json()
    assert info["deploymentType"] == "DataCenter"
    page = session.get(
        f"{fake.base_url}/rest/api/2/search",
        params={"jql": "project = ALPHA", "startAt": "30", "maxResults": "20"},
    ).json()
    assert (page["startAt"], page["total"], len(page["issues"])) == (30, 40, 10)
    assert "summary" in page["issues"][0]["fields"]  # Data Center defaults to *navigable
    count = session.post(
        f"{fake.base_url}/rest/api/2/search", json={"jql": "project = ALPHA", "maxResults": 0}
    )
    assert (count.json()["total"], count.json()["issues"]) == (40, [])
    assert [p["key"] for p in session.get(f"{fake.base_url}/rest/api/2/project").json()] == ["ALPHA"]
    everyone = session.get(f"{fake.base_url}/rest/api/2/user/search", params={"username": "."}).json()
    assert len(everyone) == 23
    assert isinstance(
        session.get(f"{fake.base_url}/rest/api/2/issue/ALPHA-1").json()["fields"]["summary"], str
    )
    assert (
        session.get(f"{fake.base_url}/rest/api/3/search/jql", params={"jql": "project = ALPHA"}).status_code
        == 404
    )
    assert session.get(f"{fake.base_url}/rest/api/3/myself").status_code == 404
    assert (
        requests.get(
            f"{fake.base_url}/rest/api/2/myself", auth=(fake.email, fake.api_token), timeout=5
        ).status_code
        == 401
    )


# -- removed and unknown endpoints -----------------------------------------------------------------
@pytest.mark.parametrize("path", ["/rest/api/3/search", "/rest/api/2/search"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_removed_search_endpoints_are_gone(
    fake_jira: FakeJira, http: requests.Session, path: str, method: str
) -> None:
    response = http.request(method, fake_jira.base_url + path, json={"jql": "project = ALPHA"})
    assert response.status_code == 410
    assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


def test_unknown_paths_and_missing_things(fake_jira: FakeJira, http: requests.Session) -> None:
    base = fake_jira.base_url
    unknown = http.get(f"{base}/rest/api/3/nothing/here")
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"] == "application/problem+json"
    assert unknown.json()["title"] == "Not Found"
    issue = http.get(f"{base}/rest/api/3/issue/NOPE-1")
    assert issue.json()["errorMessages"] == ["Issue does not exist or you do not have permission to see it."]
    project = http.get(f"{base}/rest/api/3/project/NOPE")
    assert project.json() == {"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}}


# -- projects, users, boards, fields ---------------------------------------------------------------
def test_projects_users_boards_and_fields(fake_jira: FakeJira, http: requests.Session) -> None:
    base = fake_jira.base_url
    projects = http.get(f"{base}/rest/api/3/project/search", params={"maxResults": 1}).json()
    assert (projects["total"], projects["isLast"], len(projects["values"])) == (2, False, 1)
    assert "startAt=1" in projects["nextPage"]
    keyed = http.get(f"{base}/rest/api/3/project/search", params=[("keys", "BETA")]).json()
    assert [p["key"] for p in keyed["values"]] == ["BETA"]
    users = http.get(f"{base}/rest/api/3/users/search", params={"maxResults": 1000}).json()
    assert {u["accountType"] for u in users} == {"atlassian", "app"}
    assert any(not u["active"] for u in users)
    assert sum(1 for u in users if "emailAddress" in u) == 1
    assignable = http.get(f"{base}/rest/api/3/user/assignable/search", params={"project": "ALPHA"}).json()
    assert all(u["active"] and u["accountType"] == "atlassian" for u in assignable)
    boards = http.get(f"{base}/rest/agile/1.0/board", params={"projectKeyOrId": "ALPHA"}).json()
    by_type = {b["type"]: b for b in boards["values"]}
    assert set(by_type) == {"scrum", "kanban"}
    assert by_type["scrum"]["location"]["projectKey"] == "ALPHA"
    kanban = http.get(f"{base}/rest/agile/1.0/board/{by_type['kanban']['id']}/sprint")
    assert kanban.status_code == 400
    assert kanban.json()["errorMessages"] == ["The board does not support sprints"]
    sprints = http.get(
        f"{base}/rest/agile/1.0/board/{by_type['scrum']['id']}/sprint", params={"maxResults": 4}
    )
    assert "total" not in sprints.json()
    assert sprints.json()["isLast"] is False
    assert sprints.json()["values"][0]["startDate"].endswith("Z")
    active = http.get(
        f"{base}/rest/agile/1.0/board/{by_type['scrum']['id']}/sprint", params={"state": "active"}
    )
    assert [s["state"] for s in active.json()["values"]] == ["active"]
    fields = {f["id"]: f for f in http.get(f"{base}/rest/api/3/field").json()}
    assert fields["customfield_10020"]["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint"
    assert fields["customfield_10016"]["name"] == "Story point estimate"


# -- worklog feeds ---------------------------------------------------------------------------------
def test_worklog_feed_pages_by_1000_and_honours_the_lag(fake_jira_factory: Factory) -> None:
    fake = fake_jira_factory(FakeDataConfig(seed=3, projects={"ALPHA": 150}, worklogs_per_issue=9))
    base = fake.base_url
    with _session(fake) as session:
        seen: list[int] = []
        url: str | None = f"{base}/rest/api/3/worklog/updated?since=0"
        pages = 0
        while url:
            page = session.get(url).json()
            pages += 1
            seen.extend(v["worklogId"] for v in page["values"])
            times = [v["updatedTime"] for v in page["values"]]
            assert times == sorted(times)
            url = None if page["lastPage"] else page["nextPage"]
        everything = {int(w["id"]) for i in fake.data.export("ALPHA") for w in i["worklogs"]}
        assert len(everything) > 1000
        assert pages == 2
        assert sorted(seen) == sorted(everything)

        issue_id = _live_ids(fake, "ALPHA")[0]
        worklog_id = int(fake.data.add_worklog(issue_id, 1800))
        since = {"since": page["until"]}
        assert worklog_id not in _feed_ids(session, base, "updated", since)  # updated in the last minute
        fake.data.advance(61)
        assert worklog_id in _feed_ids(session, base, "updated", since)
        listed = session.post(f"{base}/rest/api/3/worklog/list", json={"ids": [worklog_id]}).json()
        assert listed[0]["timeSpent"] == "30m"
        assert listed[0]["issueId"] == issue_id

        fake.data.delete_worklog(worklog_id)
        assert worklog_id not in _feed_ids(session, base, "deleted", {"since": 0})
        fake.data.advance(61)
        assert worklog_id in _feed_ids(session, base, "deleted", {"since": 0})
        assert worklog_id not in _feed_ids(session, base, "updated", since)
        doomed = fake.data.find_issue(_live_ids(fake, "ALPHA")[1])
        assert doomed is not None
        fake.data.delete_issue(doomed.id)
        fake.data.advance(61)
        assert {w.id for w in doomed.worklogs} <= _feed_ids(session, base, "deleted", {"since": 0})
        assert session.post(f"{base}/rest/api/3/worklog/list", json={"ids": []}).status_code == 400


def _feed_ids(session: requests.Session, base: str, kind: str, params: dict[str, Any]) -> set[int]:
    page = session.get(f"{base}/rest/api/3/worklog/{kind}", params=params).json()
    assert page["lastPage"] is True
    return {v["worklogId"] for v in page["values"]}


# -- mutations -------------------------------------------------------------------------------------
def test_mutations_show_in_export_and_search(fake_jira: FakeJira, http: requests.Session) -> None:
    data, base = fake_jira.data, fake_jira.base_url
    target = data.export("ALPHA")[5]

    def fetch(ref: str) -> dict[str, Any]:
        return http.get(f"{base}/rest/api/3/issue/{ref}", params={"fields": "*all"}).json()

    data.update_issue(target["id"], summary="Renamed", status="Done", labels=["b", "a"], assignee=None)
    after = next(i for i in data.export("ALPHA") if i["id"] == target["id"])
    assert (after["summary"], after["status"], after["labels"], after["assignee"]) == (
        "Renamed",
        "Done",
        ["a", "b"],
        None,
    )
    assert after["updated"] > target["updated"]
    assert after["resolved"] is not None
    page = _search(http, fake_jira, jql=f"id = {target['id']}", fields=["summary", "status"]).json()
    assert page["issues"][0]["fields"]["summary"] == "Renamed"
    assert page["issues"][0]["fields"]["status"]["statusCategory"]["key"] == "done"

    comment_id = data.add_comment(target["id"], "first words")
    data.edit_comment(comment_id, "second thoughts")
    comments = {
        c["id"]: c for c in next(i for i in data.export("ALPHA") if i["id"] == target["id"])["comments"]
    }
    assert comments[comment_id]["body_text"] == "second thoughts"
    assert fetch(target["id"])["fields"]["comment"]["total"] == len(comments)
    data.delete_comment(comment_id)
    assert comment_id not in {c["id"] for c in fetch(target["id"])["fields"]["comment"]["comments"]}

    old_key = target["key"]
    new_key = data.move_issue(target["id"], "BETA")
    assert new_key.startswith("BETA-")
    assert target["id"] not in _live_ids(fake_jira, "ALPHA")
    assert target["id"] in _live_ids(fake_jira, "BETA")
    moved = fetch(old_key)
    assert (moved["id"], moved["key"]) == (target["id"], new_key)
    assert target["id"] in _walk(http, fake_jira, "project = BETA", maxResults=5000)[0]

    data.delete_issue(target["id"])
    assert http.get(f"{base}/rest/api/3/issue/{target['id']}").status_code == 404
    assert target["id"] not in _walk(http, fake_jira, "project in (ALPHA, BETA)", maxResults=5000)[0]


def test_corrupted_issues_render_broken(fake_jira: FakeJira, http: requests.Session) -> None:
    first, second, third = _live_ids(fake_jira, "BETA")[:3]
    fake_jira.data.corrupt_issue(first, "bad_date")
    fake_jira.data.corrupt_issue(second, "missing_fields")
    fake_jira.data.corrupt_issue(third, "status_shape")
    page = _search(
        http, fake_jira, jql=f"id in ({first}, {second}, {third}) ORDER BY id", fields=["*all"]
    ).json()
    bad_date, missing, status_shape = page["issues"]
    assert bad_date["fields"]["updated"] == "not-a-date"
    assert "fields" not in missing
    assert isinstance(status_shape["fields"]["status"], str)


# -- faults ----------------------------------------------------------------------------------------
def test_rate_limit_fault_sends_jiras_headers_then_clears(
    fake_jira: FakeJira, http: requests.Session
) -> None:
    fake_jira.add_fault(Fault(kind="rate_limit", path=r"/rest/api/3/search/jql", times=1, retry_after=2))
    limited = _search(http, fake_jira, jql="project = ALPHA")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    for header in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Reason"):
        assert header in limited.headers
    assert _search(http, fake_jira, jql="project = ALPHA").status_code == 200
    assert http.get(f"{fake_jira.base_url}/rest/api/3/myself").status_code == 200


@pytest.mark.parametrize(
    "case",
    [
        ("server_error", 500, "application/json", "stack-trace"),
        ("service_unavailable", 503, "application/json", "Service Unavailable"),
        ("bad_gateway", 502, "text/html", "Bad Gateway"),
        ("gateway_timeout", 504, "text/html", "Gateway Timeout"),
        ("suspended_payment", 403, "application/json", "Tenant is restricted: suspended-payment"),
        ("suspended_inactivity", 403, "application/json", "Tenant is restricted: suspended-inactivity"),
        ("deactivated", 503, "text/html", "deactivated"),
    ],
)
def test_error_faults(fake_jira: FakeJira, http: requests.Session, case: tuple[str, int, str, str]) -> None:
    kind, status, content_type, needle = case
    fake_jira.add_fault(Fault(kind=kind, times=None, retry_after=5))
    for path in ("/rest/api/3/myself", "/status"):
        response = http.get(fake_jira.base_url + path)
        assert response.status_code == status
        assert response.headers["Content-Type"].startswith(content_type)
        assert needle in response.text
    if kind == "service_unavailable":
        assert response.headers["Retry-After"] == "5"
    fake_jira.clear_faults()
    assert http.get(f"{fake_jira.base_url}/status").status_code == 200


def test_slow_fault_trips_a_read_timeout(fake_jira: FakeJira, http: requests.Session) -> None:
    fake_jira.add_fault(Fault(kind="slow", delay=0.6))
    with pytest.raises(requests.ReadTimeout):
        http.get(f"{fake_jira.base_url}/rest/api/3/myself", timeout=0.2)
    assert http.get(f"{fake_jira.base_url}/rest/api/3/myself", timeout=2).status_code == 200


def test_drop_fault_closes_the_connection(fake_jira: FakeJira, http: requests.Session) -> None:
    assert http.get(f"{fake_jira.base_url}/rest/api/3/myself").status_code == 200  # pooled connection
    fake_jira.add_fault(Fault(kind="drop", path="myself"))
    with pytest.raises(requests.ConnectionError):
        http.get(f"{fake_jira.base_url}/rest/api/3/myself")
    assert http.get(f"{fake_jira.base_url}/rest/api/3/myself").status_code == 200
    assert fake_jira.requests[-2].status == 0


def test_truncate_fault_sends_half_a_body_with_a_matching_length(
    fake_jira: FakeJira, http: requests.Session
) -> None:
    fake_jira.add_fault(Fault(kind="truncate"))
    response = _search(http, fake_jira, jql="project = ALPHA", fields=["summary"])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_expired_token_fault_looks_like_a_bad_credential(fake_jira: FakeJira, http: requests.Session) -> None:
    fake_jira.add_fault(Fault(kind="expired_token", times=2))
    search = _search(http, fake_jira, jql="project = ALPHA")
    assert search.json() == {"issues": [], "isLast": True}
    assert search.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert http.get(f"{fake_jira.base_url}/rest/api/3/myself").status_code == 401
    assert http.get(f"{fake_jira.base_url}/rest/api/3/myself").status_code == 200


def test_fault_matching_by_method_after_and_times(fake_jira: FakeJira, http: requests.Session) -> None:
    fake_jira.add_fault(
        Fault(
            kind="custom",
            path="search/jql",
            method="POST",
            after=1,
            times=2,
            status=418,
            body='{"teapot": true}',
            headers={"X-Extra": "yes"},
        )
    )
    base = fake_jira.base_url
    statuses = [_search(http, fake_jira, jql="project = ALPHA").status_code for _ in range(4)]
    assert statuses == [200, 418, 418, 200]
    fake_jira.add_fault(Fault(kind="server_error", path="search/jql", method="POST", times=None))
    assert http.get(f"{base}/rest/api/3/search/jql", params={"jql": "project = ALPHA"}).status_code == 200
    assert _search(http, fake_jira, jql="project = ALPHA").status_code == 500
    assert _search(http, fake_jira, jql="project = ALPHA").status_code == 500
    fake_jira.clear_faults()
    custom = Fault(kind="custom", status=418, body='{"teapot": true}', headers={"X-Extra": "yes"})
    fake_jira.add_fault(custom)
    response = http.get(f"{base}/rest/api/3/myself")
    assert (response.status_code, response.json(), response.headers["X-Extra"]) == (
        418,
        {"teapot": True},
        "yes",
    )


# -- counters, control interface, keep-alive, CLI --------------------------------------------------
def test_request_counters(fake_jira: FakeJira, http: requests.Session) -> None:
    base = fake_jira.base_url
    http.get(f"{base}/rest/api/3/myself")
    _search(http, fake_jira, jql="project = ALPHA")
    _search(http, fake_jira, jql="project = BETA")
    http.get(f"{base}/status")
    http.get(f"{base}/_fake/stats")
    assert fake_jira.request_count() == 4
    assert fake_jira.request_count("/rest/api/3/search/jql") == 2
    assert [r.endpoint for r in fake_jira.requests] == ["myself", "search_jql", "search_jql", "status"]
    assert fake_jira.requests[0].status == 200
    fake_jira.reset_counters()
    assert fake_jira.request_count() == 0


def test_control_interface_over_http(fake_jira: FakeJira, http: requests.Session) -> None:
    base = fake_jira.base_url
    control = requests.Session()  # no credentials needed
    added = control.post(
        f"{base}/_fake/faults", json={"kind": "rate_limit", "path": "myself", "retry_after": 1}
    )
    assert added.status_code == 200
    assert http.get(f"{base}/rest/api/3/myself").status_code == 429
    control.post(f"{base}/_fake/faults", json={"kind": "server_error", "times": None})
    assert control.delete(f"{base}/_fake/faults").json() == {"faults": []}
    assert control.post(f"{base}/_fake/faults", json={"kind": "nonsense"}).status_code == 400

    issue_id = _live_ids(fake_jira, "ALPHA")[0]
    result = control.post(
        f"{base}/_fake/mutate",
        json={"op": "update_issue", "args": {"issue_id": issue_id, "summary": "Via HTTP"}},
    )
    assert result.json() == {"result": issue_id}
    comment = control.post(
        f"{base}/_fake/mutate", json={"op": "add_comment", "args": {"issue_id": issue_id, "text": "hi"}}
    )
    assert comment.json()["result"].isdigit()
    missing = control.post(f"{base}/_fake/mutate", json={"op": "delete_issue", "args": {"issue_id": "99999"}})
    assert missing.status_code == 404
    assert control.post(f"{base}/_fake/mutate", json={"op": "export", "args": {}}).status_code == 400

    exported = control.get(f"{base}/_fake/export", params={"project": "ALPHA"}).json()
    assert exported[0]["summary"] == "Via HTTP"
    assert len(control.get(f"{base}/_fake/export", params={"entity": "users"}).json()) == 23
    assert (
        len(control.get(f"{base}/_fake/export", params={"entity": "sprints", "project": "BETA"}).json()) == 6
    )

    before = fake_jira.data.now()
    control.post(f"{base}/_fake/clock", json={"advance": 3600})
    assert fake_jira.data.now() - before >= timedelta(hours=1)

    stats = control.get(f"{base}/_fake/stats").json()
    assert stats == {
        "total": 1,
        "by_endpoint": {"myself": 1},
        "max_in_flight": {"total": 1, "by_identity": {fake_jira.email.lower(): 1}},
        "most_in_one_second": 1,
    }
    control.post(f"{base}/_fake/stats/reset")
    assert control.get(f"{base}/_fake/stats").json()["total"] == 0


def test_keep_alive_serves_many_requests_on_one_connection(fake_jira: FakeJira) -> None:
    host, port = fake_jira.base_url.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=5)
    for path in ("/status", "/rest/api/3/nothing", "/status"):
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        assert response.getheader("Content-Length") is not None
        assert not response.will_close
    connection.close()


def test_command_line_announces_itself_and_serves(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fakejira",
            "--port",
            "0",
            "--projects",
            "ALPHA=5,BETA=3",
            "--time-zone",
            "Pacific/Chatham",
            "--token",
            "t0k",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        assert announced["projects"] == {"ALPHA": 5, "BETA": 3}
        assert announced["api_token"] == "t0k"
        me = requests.get(
            f"{announced['base_url']}/rest/api/3/myself", auth=(announced["email"], "t0k"), timeout=5
        )
        assert me.json()["timeZone"] == "Pacific/Chatham"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
