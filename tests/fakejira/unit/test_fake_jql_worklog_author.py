"""``worklogAuthor`` in the fake's JQL answers as Jira's does: an issue matches when any of its worklogs
has a listed author, whoever its assignee and reporter are."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fakejira import FakeData, FakeDataConfig
from fakejira.jql import JqlError, compile_jql

FIXED_END = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def data() -> FakeData:
    return FakeData(FakeDataConfig(seed=7, projects={"ALPHA": 80, "BETA": 20}, end=FIXED_END))


def matching(data: FakeData, jql: str) -> set[int]:
    with data.lock:
        query = compile_jql(jql, data)
        return {issue.id for issue in data.issues.values() if query.predicate(issue)}


def worked_by(data: FakeData, *accounts: str) -> set[int]:
    return {i.id for i in data.issues.values() if any(w.author in accounts for w in i.worklogs)}


def two_workers(data: FakeData) -> tuple[str, str]:
    authors = sorted({w.author for i in data.project_issues("ALPHA") for w in i.worklogs})
    return authors[0], authors[1]


def test_an_issue_matches_when_any_worklog_has_a_listed_author(data: FakeData) -> None:
    first, second = two_workers(data)

    assert matching(data, f'worklogAuthor = "{first}"') == worked_by(data, first)
    assert matching(data, f'worklogAuthor in ("{first}", "{second}")') == worked_by(data, first, second)
    # Issues where they logged work but are neither assignee nor reporter are the point of the clause.
    assert any(
        data.issues[i].assignee != first and data.issues[i].reporter != first for i in worked_by(data, first)
    )


def test_the_field_name_is_case_insensitive_and_combines_with_the_scope(data: FakeData) -> None:
    first, _ = two_workers(data)
    people = f'(assignee in ("{first}") OR reporter in ("{first}")'
    scope = f'project = "ALPHA" AND {people} OR WORKLOGAUTHOR in ("{first}"))'
    expected = {
        i.id
        for i in data.project_issues("ALPHA")
        if first in (i.assignee, i.reporter) or any(w.author == first for w in i.worklogs)
    }

    assert matching(data, scope) == expected
    assert matching(data, scope) > matching(data, f"project = ALPHA AND {people})")


def test_negations_and_empty_follow_jiras_rules_for_many_valued_fields(data: FakeData) -> None:
    first, _ = two_workers(data)
    issues = data.issues.values()

    assert matching(data, "worklogAuthor is EMPTY") == {i.id for i in issues if not i.worklogs}
    # As for labels: a negative clause never matches an issue without worklogs.
    assert matching(data, f'worklogAuthor != "{first}"') == {
        i.id for i in issues if i.worklogs and all(w.author != first for w in i.worklogs)
    }
    assert matching(data, f'worklogAuthor not in ("{first}")') == matching(
        data, f'worklogAuthor != "{first}"'
    )


def test_a_new_or_deleted_worklog_moves_the_answer() -> None:
    data = FakeData(FakeDataConfig(seed=7, projects={"ALPHA": 20}, end=FIXED_END))
    first, _ = two_workers(data)
    other = next(i for i in data.project_issues("ALPHA") if i.id not in worked_by(data, first))
    jql = f'worklogAuthor = "{first}"'
    assert other.id not in matching(data, jql)

    worklog = data.add_worklog(other.id, 600, author=first)
    assert other.id in matching(data, jql)

    data.delete_worklog(worklog)
    assert other.id not in matching(data, jql)


def test_currentuser_works_and_other_functions_and_operators_are_refused(data: FakeData) -> None:
    mine = worked_by(data, data.api_user_id)
    assert matching(data, "worklogAuthor = currentUser()") == mine

    with pytest.raises(JqlError, match="Unable to find JQL function 'openSprints\\(\\)'"):
        matching(data, "worklogAuthor in openSprints()")
    with pytest.raises(JqlError, match=r"The operator '~' is not supported by the 'worklogauthor' field\."):
        matching(data, 'worklogAuthor ~ "x"')
    with pytest.raises(JqlError, match=r"Not able to sort using field 'worklogauthor'\."):
        matching(data, 'worklogAuthor = "x" ORDER BY worklogAuthor')
