"""The scope rule (sync/services/scope.py): its JQL and its check of one issue read from Jira agree, on
every issue of a generated site, with what Jira's JQL (the fake's) answers for that JQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from fakejira import FakeData, FakeDataConfig
from fakejira.jql import compile_jql
from fakejira.render import FIELDS, IssueView, Renderer
from sync.jira.mapping import map_issue, map_worklog
from sync.jira.records import IssueRecord
from sync.services.scope import issue_scope_jql, record_in_scope

FIXED_END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def data() -> FakeData:
    return FakeData(FakeDataConfig(seed=11, projects={"ALPHA": 120, "BETA": 20}, end=FIXED_END))


def record_of(data: FakeData, renderer: Renderer, issue_id: int) -> IssueRecord:
    """The issue as sync maps it, with its complete worklog list (as after reading the overflow)."""
    issue = data.issues[issue_id]
    record = map_issue(
        renderer.issue(issue, IssueView(frozenset(FIELDS))),
        sprint_field="customfield_10020",
        story_points_field="customfield_10016",
    )
    return replace(record, worklogs=[map_worklog(renderer.worklog(w)) for w in issue.worklogs])


def test_the_jql_of_a_tracked_project_lists_the_accounts_for_assignee_reporter_and_worklog_author() -> None:
    jql = issue_scope_jql(project_key="ENG", account_ids=["a-1", 'b"2'], updated_since="2026/06/01 10:15")

    accounts = '"a-1", "b\\"2"'
    assert jql == (
        f'project = "ENG" AND (assignee in ({accounts}) OR reporter in ({accounts}) '
        f'OR worklogAuthor in ({accounts})) AND updated >= "2026/06/01 10:15"'
    )
    assert issue_scope_jql(project_key="ENG", account_ids=[]) == 'project = "ENG"'


def test_the_record_check_and_the_search_agree_on_every_issue(data: FakeData) -> None:
    renderer = Renderer(data, "https://fake.example")
    alpha = data.project_issues("ALPHA")
    people = sorted({i.assignee for i in alpha if i.assignee})
    workers = sorted({w.author for i in alpha for w in i.worklogs} - {i.assignee for i in alpha})
    for accounts in ([people[0]], people[:3], workers[:1], [people[1], *workers[:2]], []):
        with data.lock:
            query = compile_jql(issue_scope_jql(project_key="ALPHA", account_ids=accounts), data)
            searched = {i.id for i in alpha if query.predicate(i)}
            checked = {i.id for i in alpha if record_in_scope(record_of(data, renderer, i.id), accounts)}
        assert searched == checked, accounts
    # The worklog clause matters: some issues are in scope only through a worklog.
    only_worked = [
        i
        for i in alpha
        if any(w.author == people[0] for w in i.worklogs) and people[0] not in (i.assignee, i.reporter)
    ]
    assert only_worked


def test_a_worklog_by_a_tracked_author_is_enough_and_other_people_are_not() -> None:
    data = FakeData(FakeDataConfig(seed=11, projects={"ALPHA": 10}, end=FIXED_END))
    renderer = Renderer(data, "https://fake.example")
    issue = data.project_issues("ALPHA")[0]
    outsider = next(a for a in sorted(data.users) if a not in (issue.assignee, issue.reporter))
    with data.lock:
        before = record_of(data, renderer, issue.id)
    assert not record_in_scope(replace(before, worklogs=[]), [outsider])

    data.add_worklog(issue.id, 900, author=outsider)
    with data.lock:
        after = record_of(data, renderer, issue.id)

    assert record_in_scope(after, [outsider])
    assert not record_in_scope(after, ["nobody-tracked"])
    assert record_in_scope(after, [])  # no tracked accounts: every issue is in scope
