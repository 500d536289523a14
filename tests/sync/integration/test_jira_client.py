"""The Jira client over real HTTP against the fake Jira: paging, retries, budgets and every failure."""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fakejira import FakeDataConfig, FakeJira, Fault
from sync.jira.budget import NullBudget
from sync.jira.client import (
    JiraClient,
    JiraCredentials,
    RequestCounter,
    embedded_overflow,
)
from sync.jira.dates import epoch_ms, parse_jira_datetime
from sync.jira.errors import JiraError, JiraErrorCode

C = JiraErrorCode
MakeFake = Callable[..., FakeJira]
FIELDS = ["summary", "updated", "comment", "worklog"]


class RecordingBudget(NullBudget):
    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.paused: list[tuple[str, float]] = []

    def acquire(self, site_key: str) -> float:
        self.acquired.append(site_key)
        return 0.0

    def pause(self, site_key: str, seconds: float) -> None:
        self.paused.append((site_key, seconds))


def credentials_for(fake: FakeJira, *, token: str | None = None) -> JiraCredentials:
    if fake.config.deployment == "DataCenter":
        return JiraCredentials(fake.base_url, "bearer", token or fake.pat, deployment="datacenter")
    return JiraCredentials(fake.base_url, "basic", token or fake.api_token, email=fake.email)


def client_for(fake: FakeJira, *, token: str | None = None, **options: Any) -> JiraClient:
    options = {"budget": NullBudget(), "backoff_base": 0.01, "backoff_max": 0.05, **options}
    return JiraClient(credentials_for(fake, token=token), **options)


def failure(call: Callable[[], Any]) -> JiraError:
    with pytest.raises(JiraError) as caught:
        call()
    return caught.value


@pytest.fixture
def client(fake_jira: FakeJira) -> Iterator[JiraClient]:
    with client_for(fake_jira) as jira:
        yield jira


@pytest.fixture
def heavy_fake(fake_jira_factory: MakeFake) -> FakeJira:
    """Many issues with more comments and worklogs than a search result embeds."""
    config = FakeDataConfig(
        seed=3, projects={"ALPHA": 40}, heavy_comment_ratio=0.25, heavy_worklog_ratio=0.25
    )
    return fake_jira_factory(config)


# --- identity ---------------------------------------------------------------------------------
def test_verify_returns_who_we_are_and_our_time_zone(fake_jira_factory):
    fake = fake_jira_factory(FakeDataConfig(seed=1, projects={"ALPHA": 5}, time_zone="Pacific/Chatham"))
    with client_for(fake) as jira:
        identity = jira.verify()
        assert jira.credentials_verified
    assert identity.account_id == fake.data.api_user_id
    assert identity.time_zone == "Pacific/Chatham"
    assert identity.deployment_type == "Cloud"
    assert identity.display_name


def test_meta_endpoints(client):
    assert client.status() == {"state": "RUNNING"}
    assert client.server_info()["deploymentType"] == "Cloud"
    assert any(f.get("id") == "summary" for f in client.fields())


def test_credentials_repr_hides_the_token_and_derive_the_site_key(fake_jira):
    credentials = credentials_for(fake_jira)
    assert fake_jira.api_token not in repr(credentials)
    assert credentials.site_key == fake_jira.base_url.removeprefix("http://")
    with pytest.raises(ValueError, match="email"):
        JiraCredentials("https://acme.atlassian.net/", "basic", "token-123456")


# --- projects and issues ----------------------------------------------------------------------
def test_project_pages_and_lookup(client):
    keys = [p["key"] for page in client.iter_project_pages() for p in page]
    assert sorted(keys) == ["ALPHA", "BETA"]
    assert [p["key"] for page in client.iter_project_pages(keys=["BETA"]) for p in page] == ["BETA"]
    assert client.get_project("ALPHA")["key"] == "ALPHA"


def test_unknown_project_is_named_with_jiras_message(client):
    error = failure(lambda: client.get_project("NOPE"))
    assert error.code is C.UNKNOWN_PROJECT
    assert "No project could be found with key 'NOPE'." in error.message
    assert error.advice
    error = failure(lambda: client.search_page("project = NOPE", fields=["id"]))
    assert error.code is C.UNKNOWN_PROJECT
    assert "does not exist for the field 'project'" in error.message


def test_search_pages_walk_every_issue_and_stop(client, fake_jira):
    pages = list(client.iter_search_pages("project = ALPHA ORDER BY id", fields=FIELDS))
    expected = {issue["id"] for issue in fake_jira.data.export("ALPHA")}
    seen = [issue["id"] for page in pages for issue in page.issues]
    assert len(pages) >= 2
    assert sorted(seen) == sorted(expected)  # every issue once
    assert all(not page.is_last for page in pages[:-1])
    assert pages[-1].is_last
    assert pages[-1].next_page_token is None
    assert fake_jira.request_count("/rest/api/3/search/jql") == len(pages)


def test_search_uses_what_came_back_not_what_it_asked(client, fake_jira):
    # Asking for 1000 with fields: the fake, like Jira, returns pages of 100 at most.
    pages = list(client.iter_search_pages("project = ALPHA", fields=FIELDS, max_results=1000))
    assert sum(len(page.issues) for page in pages) == len(fake_jira.data.export("ALPHA"))
    assert len(pages) == 2


def test_issue_ids_come_in_large_id_only_pages(client, fake_jira):
    pages = list(client.iter_issue_ids("project = ALPHA"))
    assert len(pages) == 1
    assert sorted(pages[0]) == sorted(issue["id"] for issue in fake_jira.data.export("ALPHA"))


def test_approximate_count_and_get_issue(client, fake_jira):
    assert client.approximate_count("project = BETA") == len(fake_jira.data.export("BETA"))
    first = fake_jira.data.export("BETA")[0]
    issue = client.get_issue(first["key"], fields=["summary"])
    assert issue["id"] == first["id"]
    assert issue["fields"]["summary"] == first["summary"]
    error = failure(lambda: client.get_issue("BETA-99999", fields=["summary"]))
    assert error.code is C.NOT_FOUND


# --- comments and worklogs --------------------------------------------------------------------
def test_embedded_overflow_reads_total():
    assert embedded_overflow({"comment": {"comments": [{}] * 20, "total": 21}}, "comment")
    assert not embedded_overflow({"comment": {"comments": [{}] * 3, "total": 3}}, "comment")
    assert embedded_overflow({"worklog": {"worklogs": [], "total": 1}}, "worklog")
    assert not embedded_overflow({"worklog": None}, "worklog")
    assert not embedded_overflow({}, "comment")


def test_comments_past_the_twentieth_come_from_comment_pages(heavy_fake):
    exported = {issue["id"]: issue for issue in heavy_fake.data.export("ALPHA")}
    with client_for(heavy_fake) as jira:
        issues = [i for p in jira.iter_search_pages("project = ALPHA", fields=FIELDS) for i in p.issues]
        overflowing = [i for i in issues if embedded_overflow(i["fields"], "comment")]
        assert overflowing, "the heavy data set should have issues with more than 20 comments"
        for issue in issues:
            embedded = issue["fields"]["comment"]["comments"]
            expected = [c["id"] for c in exported[issue["id"]]["comments"]]
            if embedded_overflow(issue["fields"], "comment"):
                assert len(embedded) == 20 < len(expected)
                paged = [c["id"] for page in jira.iter_comment_pages(issue["id"]) for c in page]
                assert sorted(paged) == sorted(expected)
            else:
                assert sorted(c["id"] for c in embedded) == sorted(expected)
        pages = list(jira.iter_comment_pages(overflowing[0]["id"], start_at=20))
        assert sum(map(len, pages)) == len(exported[overflowing[0]["id"]]["comments"]) - 20


def test_worklogs_past_the_twentieth_come_from_worklog_pages(heavy_fake):
    exported = {issue["id"]: issue for issue in heavy_fake.data.export("ALPHA")}
    with client_for(heavy_fake) as jira:
        issues = [i for p in jira.iter_search_pages("project = ALPHA", fields=FIELDS) for i in p.issues]
        overflowing = [i for i in issues if embedded_overflow(i["fields"], "worklog")]
        assert overflowing
        for issue in overflowing:
            expected = exported[issue["id"]]["worklogs"]
            paged = [w for page in jira.iter_worklog_pages(issue["id"]) for w in page]
            assert sorted(w["id"] for w in paged) == sorted(w["id"] for w in expected)
        # startedAfter filters on the server.
        issue_id = overflowing[0]["id"]
        starts = sorted(parse_jira_datetime(w["started"]) for w in exported[issue_id]["worklogs"])
        cutoff = starts[len(starts) // 2]
        after = [
            w for page in jira.iter_worklog_pages(issue_id, started_after_ms=epoch_ms(cutoff)) for w in page
        ]
        assert len(after) == sum(1 for start in starts if start >= cutoff)


def test_worklog_feeds_follow_next_page_and_worklog_list_chunks(fake_jira_factory):
    fake = fake_jira_factory(FakeDataConfig(seed=5, projects={"ALPHA": 450}))
    all_worklogs = {w["id"] for issue in fake.data.export("ALPHA") for w in issue["worklogs"]}
    assert len(all_worklogs) > 1000, "need more than one feed page"
    with client_for(fake) as jira:
        pages = list(jira.iter_worklog_updated(0))
        ids = [str(v["worklogId"]) for page in pages for v in page.values]
        assert len(pages) >= 2
        assert pages[-1].last_page
        assert all(not page.last_page for page in pages[:-1])
        assert all(a.until <= b.since for a, b in itertools.pairwise(pages))
        assert sorted(ids) == sorted(all_worklogs)

        listed = jira.worklog_list(ids)
        assert sorted(w["id"] for w in listed) == sorted(all_worklogs)
        assert fake.request_count("/rest/api/3/worklog/list") == 2  # 1000 ids per POST

        since = pages[-1].until
        gone = next(iter(sorted(all_worklogs)))
        fake.data.delete_worklog(gone)
        assert [v for p in jira.iter_worklog_deleted(since) for v in p.values] == []  # 60 s lag
        fake.data.advance(120)
        deleted = [str(v["worklogId"]) for p in jira.iter_worklog_deleted(since) for v in p.values]
        assert deleted == [gone]


# --- users and agile --------------------------------------------------------------------------
def test_user_pages_list_everyone(client, fake_jira):
    users = [u for page in client.iter_user_pages() for u in page]
    assert sorted(u["accountId"] for u in users) == [u["accountId"] for u in fake_jira.data.export_users()]
    assignable = [u for page in client.iter_assignable_user_pages("ALPHA") for u in page]
    assert assignable
    assert {u["accountId"] for u in assignable} <= {u["accountId"] for u in users}


def test_boards_and_sprints_skip_kanban(client, fake_jira):
    boards = [b for page in client.iter_board_pages("ALPHA") for b in page]
    assert {b["type"] for b in boards} == {"scrum", "kanban"}
    sprint_ids = set()
    for board in boards:
        sprints = [s for page in client.iter_sprint_pages(board["id"]) for s in page]
        if board["type"] == "kanban":
            assert sprints == []
        sprint_ids |= {s["id"] for s in sprints}
    assert sprint_ids == {s["id"] for s in fake_jira.data.export_sprints("ALPHA")}
    assert client.counter.by_endpoint["GET /rest/agile/1.0/board/{id}/sprint 400"] == 1


# --- retries, budget and counting -------------------------------------------------------------
def test_a_429_retry_after_is_waited_out_counted_and_shared(fake_jira):
    budget = RecordingBudget()
    fake_jira.add_fault(Fault(kind="rate_limit", path=r"/search/jql", times=1, retry_after=2))
    with client_for(fake_jira, budget=budget) as jira:
        started = time.monotonic()
        page = jira.search_page("project = BETA", fields=["summary"])
        waited = time.monotonic() - started
    assert page.issues
    assert waited >= 2.0
    assert jira.counter.total == 2
    assert jira.counter.by_endpoint["POST /rest/api/3/search/jql 429"] == 1
    assert jira.counter.by_endpoint["POST /rest/api/3/search/jql 200"] == 1
    assert fake_jira.request_count("/rest/api/3/search/jql") == 2
    assert budget.paused == [(jira.site_key, 2.0)]  # every worker of the site holds off
    assert budget.acquired == [jira.site_key] * 2  # each attempt passed the budget


def test_a_retry_after_beyond_the_maximum_fails_at_once(fake_jira):
    fake_jira.add_fault(Fault(kind="rate_limit", path=r"/search/jql", times=1, retry_after=30))
    with client_for(fake_jira, retry_after_max=5) as jira:
        started = time.monotonic()
        error = failure(lambda: jira.search_page("project = BETA", fields=["id"]))
    assert time.monotonic() - started < 1
    assert error.code is C.RATE_LIMIT
    assert error.retryable
    assert error.retry_after == 30
    assert jira.counter.total == 1


def test_three_503s_are_a_retryable_server_error_after_exactly_three_attempts(fake_jira):
    fake_jira.add_fault(Fault(kind="service_unavailable", path=r"/myself", times=None))
    with client_for(fake_jira, max_attempts=3) as jira:
        error = failure(jira.myself)
    assert error.code is C.SERVER_ERROR
    assert error.retryable
    assert error.status == 503
    assert jira.counter.total == 3
    assert fake_jira.request_count() == 3


@pytest.mark.parametrize(
    "kind", ["server_error", "service_unavailable", "bad_gateway", "gateway_timeout", "drop", "truncate"]
)
def test_one_transient_failure_is_retried_away(fake_jira, kind):
    fake_jira.add_fault(Fault(kind=kind, path=r"/search/jql", times=1))
    with client_for(fake_jira) as jira:
        page = jira.search_page("project = BETA", fields=["summary"])
    assert len(page.issues) == len(fake_jira.data.export("BETA"))
    assert jira.counter.total == 2


# --- every preset failure maps to its code ----------------------------------------------------
def test_expired_token_after_a_first_success_is_token_expired(client, fake_jira):
    client.myself()
    fake_jira.add_fault(Fault(kind="expired_token", times=None))
    error = failure(client.myself)
    assert error.code is C.TOKEN_EXPIRED
    assert error.status == 401
    assert "id.atlassian.com" in error.advice
    error = failure(lambda: client.search_page("project = ALPHA", fields=["id"]))
    assert error.code is C.TOKEN_EXPIRED  # the anonymous empty 200 is not "no issues"
    assert fake_jira.request_count("/rest/api/3/myself") == 2  # auth failures are not retried


def test_bad_credentials_at_verify_are_auth_failed(fake_jira):
    with client_for(fake_jira, token="wrong-token-0000") as jira:
        error = failure(jira.verify)
    assert error.code is C.AUTH_FAILED
    assert "Client must be authenticated" in error.message
    assert error.advice
    assert not error.retryable


def test_bad_credentials_empty_200_on_search_is_auth_failed_not_an_empty_result(fake_jira):
    with client_for(fake_jira, token="wrong-token-0000") as jira:
        error = failure(lambda: jira.search_page("project = ALPHA", fields=["id"]))
        assert error.code is C.AUTH_FAILED
        assert error.status == 200
        error = failure(lambda: list(jira.iter_project_pages()))
        assert error.code is C.AUTH_FAILED


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("suspended_payment", C.SUSPENDED_PAYMENT),
        ("suspended_inactivity", C.SUSPENDED_INACTIVITY),
    ],
)
def test_suspended_sites_fail_fast(fake_jira, kind, code):
    fake_jira.add_fault(Fault(kind=kind, times=None))
    with client_for(fake_jira) as jira:
        error = failure(jira.myself)
    assert error.code is code
    assert error.status == 403
    assert not error.retryable
    assert error.advice
    assert jira.counter.total == 1


def test_a_deactivated_site_is_told_apart_from_an_outage_by_status(fake_jira):
    fake_jira.add_fault(Fault(kind="deactivated", times=None))
    with client_for(fake_jira, max_attempts=2) as jira:
        error = failure(lambda: jira.search_page("project = ALPHA", fields=["id"]))
    assert error.code is C.SITE_DEACTIVATED
    assert not error.retryable
    assert error.advice
    assert "deactivated" in error.message
    assert fake_jira.request_count("/rest/api/3/search/jql") == 2
    assert fake_jira.request_count("/status") == 1


def test_a_503_html_while_status_runs_stays_a_server_error(fake_jira):
    fake_jira.add_fault(Fault(kind="deactivated", path=r"/search/jql", times=None))
    with client_for(fake_jira, max_attempts=2) as jira:
        error = failure(lambda: jira.search_page("project = ALPHA", fields=["id"]))
    assert error.code is C.SERVER_ERROR
    assert error.retryable


def test_dropped_connections_are_network_errors(fake_jira):
    fake_jira.add_fault(Fault(kind="drop", times=None))
    with client_for(fake_jira, max_attempts=2) as jira:
        error = failure(jira.myself)
    assert error.code is C.NETWORK_GLITCH
    assert error.retryable
    assert error.advice
    assert jira.counter.by_endpoint["GET /rest/api/3/myself NETWORK_GLITCH"] == 2


def test_a_slow_answer_past_the_read_timeout_is_a_timeout(fake_jira):
    fake_jira.add_fault(Fault(kind="slow", delay=1.0, times=None))
    with client_for(fake_jira, read_timeout=0.5, max_attempts=1) as jira:
        error = failure(jira.myself)
    assert error.code is C.TIMEOUT
    assert error.retryable
    assert error.advice


def test_a_truncated_body_is_malformed(fake_jira):
    fake_jira.add_fault(Fault(kind="truncate", path=r"/search/jql", times=None))
    with client_for(fake_jira, max_attempts=2) as jira:
        error = failure(lambda: jira.search_page("project = ALPHA", fields=FIELDS))
    assert error.code is C.MALFORMED_RESPONSE
    assert error.retryable
    assert error.advice
    assert jira.counter.by_endpoint["POST /rest/api/3/search/jql 200 MALFORMED_RESPONSE"] == 2


def test_bad_jql_quotes_jira(client):
    error = failure(lambda: client.search_page("project = ALPHA AND foo = 1", fields=["id"]))
    assert error.code is C.BAD_JQL
    jira_says = "Field 'foo' does not exist or you do not have permission to view it."
    assert jira_says in error.message
    assert error.advice == f"Fix the JQL: {jira_says}"
    assert not error.retryable
    assert client.counter.total == 1
    assert failure(lambda: client.search_page("ORDER BY id", fields=["id"])).code is C.BAD_JQL


def test_removed_search_api_is_api_removed(client, fake_jira):
    error = failure(lambda: client._request("POST", "/rest/api/3/search", json_body={"jql": "x"}))
    assert error.code is C.API_REMOVED
    assert "search/jql" in error.message
    assert error.advice
    # A Cloud site configured as Data Center hits the removed v2 search too.
    with JiraClient(
        JiraCredentials(
            fake_jira.base_url, "basic", fake_jira.api_token, email=fake_jira.email, deployment="datacenter"
        ),
        budget=NullBudget(),
    ) as misconfigured:
        error = failure(lambda: misconfigured.search_page("project = ALPHA", fields=["id"]))
    assert error.code is C.API_REMOVED


def test_an_unexpected_shape_is_schema_changed(fake_jira):
    body = json.dumps({"results": []})
    fake_jira.add_fault(Fault(kind="custom", status=200, body=body, path=r"/search/jql"))
    with client_for(fake_jira) as jira:
        error = failure(lambda: jira.search_page("project = ALPHA", fields=["id"]))
    assert error.code is C.SCHEMA_CHANGED
    assert not error.retryable


# --- secrets and logging ----------------------------------------------------------------------
def test_the_token_never_reaches_logs_reprs_or_errors(fake_jira, caplog):
    caplog.set_level(logging.DEBUG)
    fake_jira.add_fault(Fault(kind="server_error", path=r"/myself", times=1))
    with client_for(fake_jira) as jira:
        jira.verify()
        fake_jira.add_fault(Fault(kind="expired_token", times=None))
        expired = failure(jira.myself)
    with client_for(fake_jira, token=fake_jira.api_token + "-wrong") as wrong:
        wrong_error = failure(wrong.verify)
    messages = [r for r in caplog.records if r.name == "sync.jira.client"]
    assert any(r.levelno == logging.WARNING for r in messages)  # the retry
    assert any(getattr(r, "jira_endpoint", None) == "GET /rest/api/3/myself" for r in messages)
    everything = [
        caplog.text,
        *(repr(vars(r)) for r in caplog.records),
        repr(credentials_for(fake_jira)),
        str(expired),
        repr(expired),
        json.dumps(expired.to_dict()),
        str(wrong_error),
        json.dumps(wrong_error.to_dict()),
    ]
    for text in everything:
        assert fake_jira.api_token not in text
        assert "Authorization" not in text


# --- counting ---------------------------------------------------------------------------------
def test_counter_is_json_and_can_be_shared(fake_jira):
    counter = RequestCounter()
    with client_for(fake_jira, counter=counter) as jira:
        jira.myself()
        jira.get_issue("ALPHA-1", fields=["summary"])
    with client_for(fake_jira, counter=counter) as jira:
        jira.myself()
    assert json.loads(json.dumps(counter.as_dict())) == {
        "total": 3,
        "by_endpoint": {"GET /rest/api/3/issue/{id} 200": 1, "GET /rest/api/3/myself 200": 2},
    }


# --- Data Center ------------------------------------------------------------------------------
def test_data_center_pages_the_v2_search_with_start_at(fake_jira_factory):
    fake = fake_jira_factory(FakeDataConfig(seed=7, projects={"ALPHA": 120}, deployment="DataCenter"))
    with client_for(fake) as jira:
        identity = jira.verify()
        assert identity.deployment_type == "DataCenter"
        pages = list(jira.iter_search_pages("project = ALPHA ORDER BY id", fields=FIELDS))
        assert [p.next_page_token for p in pages] == ["100", None]
        ids = [i["id"] for p in pages for i in p.issues]
        assert sorted(ids) == sorted(i["id"] for i in fake.data.export("ALPHA"))
        assert jira.approximate_count("project = ALPHA") == 120
        assert sorted(i for page in jira.iter_issue_ids("project = ALPHA") for i in page) == sorted(ids)
    searched = [r for r in fake.requests if "search" in r.path]
    assert {r.path for r in searched} == {"/rest/api/2/search"}
    assert fake.pat not in repr(credentials_for(fake))


# --- Egress: redirects, response size, private addresses -------------------------------------------


def test_a_redirect_to_another_host_is_not_followed(fake_jira_factory):
    fake, elsewhere = fake_jira_factory(), fake_jira_factory()
    target = elsewhere.base_url + "/rest/api/3/myself"
    fake.add_fault(Fault(kind="custom", path="/myself", status=302, body="", headers={"Location": target}))
    client = client_for(fake)

    error = failure(client.myself)

    assert error.code is C.REDIRECTED and not error.retryable
    assert target in str(error)
    assert elsewhere.request_count() == 0
    assert fake.request_count() == 1


def test_a_response_over_the_size_cap_fails_classified_without_retries(fake_jira_factory):
    fake = fake_jira_factory()
    client = client_for(fake, max_response_bytes=2_000)

    error = failure(lambda: client.search_page("project = ALPHA ORDER BY id", fields=FIELDS))

    assert error.code is C.RESPONSE_TOO_LARGE and not error.retryable
    assert fake.request_count("/rest/api/3/search") == 1
    assert client.myself()["accountId"]  # small answers still pass


def test_a_loopback_site_is_refused_before_any_request_unless_allowed(fake_jira_factory, settings):
    fake = fake_jira_factory()
    settings.JIRAPLUS_ALLOW_PRIVATE_JIRA = False

    error = failure(client_for(fake).myself)

    assert error.code is C.URL_NOT_ALLOWED
    assert fake.request_count() == 0
