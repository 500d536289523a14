"""A search page's overflow read at once (``JiraClient.read_overflow``) over real HTTP against the fake Jira:
the same items as the one-at-a-time walks, no more requests, and never more in flight than the site allows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from fakejira import FakeDataConfig, FakeJira, Fault
from sync.jira.client import JiraClient, Overflow
from sync.jira.errors import JiraError, JiraErrorCode
from sync.jira.slots import RedisSlots, lease_from_settings
from tests.sync.integration.test_jira_client import client_for

MakeFake = Callable[..., FakeJira]
FIELDS = ["summary", "comment", "worklog"]


def heavy(deployment: str = "Cloud", **overrides: Any) -> FakeDataConfig:
    """Many issues with more comments, worklogs and histories than a search result embeds."""
    base: dict[str, Any] = {
        "seed": 3,
        "projects": {"ALPHA": 40},
        "heavy_comment_ratio": 0.3,
        "heavy_worklog_ratio": 0.3,
        "changelog_embedded_limit": 2,
        "deployment": deployment,
    }
    return FakeDataConfig(**{**base, **overrides})


def overflowing(jira: JiraClient) -> list[Overflow]:
    """What one search page of ALPHA embedded only in part, as the issue step asks for it."""
    (page,) = jira.iter_search_pages("project = ALPHA ORDER BY id", fields=FIELDS, expand=["changelog"])
    wanted = []
    for issue in page.issues:
        fields, changelog = issue["fields"], issue["changelog"]

        def total(container: dict[str, Any], key: str) -> int | None:
            return container["total"] if container["total"] > len(container[key]) else None

        wanted.append(
            Overflow(
                issue["id"],
                comment_total=total(fields["comment"], "comments"),
                worklog_total=total(fields["worklog"], "worklogs"),
                changelog_total=total(changelog, "histories"),
            )
        )
    return [w for w in wanted if (w.comment_total, w.worklog_total, w.changelog_total) != (None,) * 3]


def one_at_a_time(jira: JiraClient, wanted: list[Overflow]) -> dict[str, dict[str, list[Any]]]:
    found: dict[str, dict[str, list[Any]]] = {"comments": {}, "worklogs": {}, "changelogs": {}}
    for w in wanted:
        if w.comment_total is not None:
            found["comments"][w.issue_id] = [c for p in jira.iter_comment_pages(w.issue_id) for c in p]
        if w.worklog_total is not None:
            found["worklogs"][w.issue_id] = [x for p in jira.iter_worklog_pages(w.issue_id) for x in p]
        if w.changelog_total is not None:
            found["changelogs"][w.issue_id] = [h for p in jira.iter_changelog_pages(w.issue_id) for h in p]
    return found


@pytest.mark.parametrize("deployment", ["Cloud", "DataCenter"])
def test_overflow_read_at_once_equals_the_walks_one_at_a_time_in_no_more_requests(
    fake_jira_factory: MakeFake, deployment: str
) -> None:
    fake = fake_jira_factory(heavy(deployment))
    with client_for(fake) as jira:
        wanted = overflowing(jira)
        assert len(wanted) > 10
        fake.reset_counters()
        expected = one_at_a_time(jira, wanted)
        walked = fake.stats()["by_endpoint"]
        fake.reset_counters()

        found = jira.read_overflow(wanted)

    assert found.comments == expected["comments"] and found.comments
    assert found.worklogs == expected["worklogs"] and found.worklogs
    assert found.changelogs == expected["changelogs"] and found.changelogs
    read = fake.stats()["by_endpoint"]
    assert read.get("issue_comments") == walked["issue_comments"]
    assert read.get("issue_worklogs") == walked["issue_worklogs"]
    if deployment == "Cloud":  # every changelog in one bulk request instead of one request per issue
        assert read.get("changelog_bulkfetch") == 1 and "issue_changelog" not in read
    else:
        assert read.get("issue_changelog") == walked["issue_changelog"] and "changelog_bulkfetch" not in read


def test_bulk_changelogs_follow_tokens_across_pages_that_cut_an_issue(fake_jira_factory, monkeypatch):
    fake = fake_jira_factory(heavy())
    monkeypatch.setattr("sync.jira.endpoints.issues.BULK_CHANGELOG_PAGE_SIZE", 7)
    with client_for(fake) as jira:
        ids = [w.issue_id for w in overflowing(jira) if w.changelog_total is not None]
        fake.reset_counters()
        found = jira.changelogs_bulk(ids)

    histories = sum(len(fake.data.issues[int(i)].changelog) for i in ids)
    assert fake.stats()["by_endpoint"] == {"changelog_bulkfetch": -(-histories // 7)}
    for issue_id in ids:
        assert [h["id"] for h in found[issue_id]] == [
            str(h.id) for h in fake.data.issues[int(issue_id)].changelog
        ]


def test_pages_read_ahead_end_as_the_walk_would_when_jira_has_more_or_fewer(fake_jira_factory, monkeypatch):
    fake = fake_jira_factory(heavy())
    monkeypatch.setattr("sync.jira.endpoints.overflow.COMMENT_PAGE_SIZE", 7)  # several pages per issue
    with client_for(fake) as jira:
        wanted = [w for w in overflowing(jira) if w.comment_total is not None][:3]
        grown, shrunk = wanted[0].issue_id, wanted[1].issue_id
        for n in range(10):  # after the search: its embedded total is now short by 10
            fake.data.add_comment(int(grown), f"Added after the search {n}")
        del fake.data.issues[int(shrunk)].comments[-9:]  # and this one's is 9 too many
        found = jira.read_overflow([Overflow(w.issue_id, comment_total=w.comment_total) for w in wanted])

    for w in wanted:
        assert [c["id"] for c in found.comments[w.issue_id]] == [
            str(c.id)
            for c in sorted(fake.data.issues[int(w.issue_id)].comments, key=lambda c: (c.created, c.id))
        ]


def test_overflow_reads_never_hold_more_than_the_site_slots_allow(fake_jira_factory, settings):
    settings.JIRA_SITE_CONCURRENCY = 8
    fake = fake_jira_factory(heavy(), latency_ms=60)
    slots = RedisSlots(settings.REDIS_URL, 3, lease_from_settings())
    with client_for(fake) as setup:
        wanted = overflowing(setup)
    fake.reset_counters()
    clients = [client_for(fake, slots=slots) for _ in range(2)]
    try:
        # Two clients of one site (two steps on two workers) read at once: 16 threads, 3 slots.
        threads = [threading.Thread(target=jira.read_overflow, args=(wanted,)) for jira in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for jira in clients:
            jira.close()
    assert fake.request_count() > 20
    assert fake.max_in_flight(fake.email.lower()) == 3
    assert slots.holders(clients[0].site_key) == 0


def test_the_pool_is_as_large_as_the_site_concurrency(fake_jira_factory, settings):
    settings.JIRA_SITE_CONCURRENCY = 2
    fake = fake_jira_factory(heavy(), latency_ms=60)
    with client_for(fake) as jira:  # no shared slots: only the pool's size bounds it
        wanted = overflowing(jira)
        fake.reset_counters()
        jira.read_overflow(wanted)
    assert fake.max_in_flight(fake.email.lower()) == 2


def test_a_failed_read_is_raised_after_the_reads_in_flight_ended(fake_jira_factory):
    fake = fake_jira_factory(heavy(), latency_ms=20)
    with client_for(fake) as jira:
        wanted = overflowing(jira)
        fake.add_fault(Fault(kind="server_error", path="/worklog", times=1000))
        with pytest.raises(JiraError) as caught:
            jira.read_overflow(wanted)
    assert caught.value.code is JiraErrorCode.SERVER_ERROR and "worklog" in str(caught.value.endpoint)
    assert not [t for t in threading.enumerate() if t.name.startswith("jira-overflow")]
