"""Property tests: whatever Jira (or a person) sends, the code answers with a classified error or a
result, never a crash. Hypothesis prints the failing example to replay."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from croniter import croniter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from fakejira import jql
from sync.jira.adf import adf_to_text
from sync.jira.dates import parse_jira_datetime
from sync.jira.mapping import MalformedPayload, map_issue
from sync.services.schedules import cron_validate
from sync.services.scope import issue_scope_jql

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)

USER = {"accountId": "557058:0b1c2d3e", "displayName": "Ada", "active": True}
WHEN = "2024-01-31T10:15:30.123+0100"
VALID_ISSUE: dict[str, Any] = {
    "id": "10001",
    "key": "ALPHA-1",
    "fields": {
        "summary": "A summary",
        "status": {"name": "To Do", "statusCategory": {"key": "new"}},
        "priority": {"name": "Medium"},
        "issuetype": {"name": "Task"},
        "assignee": USER,
        "reporter": USER,
        "project": {"id": "100", "key": "ALPHA"},
        "parent": {"id": "10000"},
        "labels": ["a"],
        "created": WHEN,
        "updated": WHEN,
        "resolutiondate": None,
        "description": {"type": "doc", "version": 1, "content": []},
        "customfield_10020": [{"id": 1, "name": "Sprint 1", "state": "active", "boardId": 7}],
        "customfield_10016": 3,
        "comment": {
            "comments": [{"id": "1", "author": USER, "body": None, "created": WHEN, "updated": WHEN}],
            "total": 1,
        },
        "worklog": {
            "worklogs": [
                {
                    "id": "2",
                    "issueId": "10001",
                    "author": USER,
                    "created": WHEN,
                    "updated": WHEN,
                    "started": WHEN,
                    "timeSpentSeconds": 60,
                }
            ],
            "total": 1,
        },
    },
}
PATHS = [
    ("id",),
    ("fields",),
    *[("fields", name) for name in VALID_ISSUE["fields"]],
    ("fields", "status", "statusCategory"),
    ("fields", "comment", "comments"),
    ("fields", "comment", "comments", 0),
    ("fields", "comment", "comments", 0, "id"),
    ("fields", "comment", "comments", 0, "created"),
    ("fields", "comment", "comments", 0, "author"),
    ("fields", "worklog", "worklogs", 0),
    ("fields", "worklog", "worklogs", 0, "timeSpentSeconds"),
    ("fields", "worklog", "worklogs", 0, "issueId"),
    ("fields", "worklog", "worklogs", 0, "started"),
    ("fields", "customfield_10020", 0),
    ("fields", "customfield_10020", 0, "boardId"),
    ("fields", "customfield_10020", 0, "id"),
    ("fields", "customfield_10020", 0, "startDate"),
]


BIGINT = range(0, 2**63)
SECONDS = range(0, 2**31)  # the worklog's PositiveIntegerField


def map_or_reject(payload: Any) -> None:
    """Maps to values every column accepts (so the batch commits), or raises MalformedPayload."""
    try:
        record = map_issue(payload, sprint_field="customfield_10020", story_points_field="customfield_10016")
    except MalformedPayload:
        return
    ids = [record.jira_id, *(c.jira_id for c in record.comments), *(w.jira_id for w in record.worklogs)]
    ids += [s.jira_id for s in record.sprints] + [s.board_id or 0 for s in record.sprints]
    ids += [record.parent_jira_id or 0, record.project_jira_id or 0]
    assert all(i in BIGINT for i in ids), ids
    assert all(w.time_spent_seconds in SECONDS for w in record.worklogs)


def test_the_valid_issue_maps():
    record = map_issue(VALID_ISSUE, sprint_field="customfield_10020", story_points_field="customfield_10016")
    assert (record.jira_id, len(record.comments), len(record.worklogs), len(record.sprints)) == (
        10001,
        1,
        1,
        1,
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=json_values)
def test_any_value_anywhere_in_an_issue_maps_or_is_rejected_as_malformed(path, value):
    payload = copy.deepcopy(VALID_ISSUE)
    target = payload
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    map_or_reject(payload)


@given(seconds=st.integers())
def test_worklog_seconds_out_of_the_column_range_are_malformed(seconds):
    payload = copy.deepcopy(VALID_ISSUE)
    payload["fields"]["worklog"]["worklogs"][0]["timeSpentSeconds"] = seconds
    map_or_reject(payload)


@settings(max_examples=200)
@given(payload=json_values)
def test_any_json_at_all_maps_or_is_rejected_as_malformed(payload):
    map_or_reject(payload)


@settings(max_examples=200)
@given(doc=json_values)
def test_adf_rendering_never_crashes(doc):
    assert isinstance(adf_to_text(doc), str)


@settings(max_examples=200)
@given(text=st.text(max_size=40))
def test_timestamps_parse_or_raise_value_error(text):
    with contextlib.suppress(ValueError):
        parse_jira_datetime(text)


printable = st.text(st.characters(blacklist_categories=["Cc", "Cs"]), min_size=1, max_size=30)


def operands(node: Any, field: str) -> list[str]:
    if isinstance(node, jql.Clause):
        return [o.text for o in node.operands] if node.field == field else []
    return [text for part in node.parts for text in operands(part, field)]


@settings(max_examples=200)
@given(key=printable, accounts=st.lists(printable, max_size=4, unique=True))
def test_scope_jql_quotes_any_key_and_account_so_jira_reads_them_back(key, accounts):
    query = jql.parse(issue_scope_jql(project_key=key, account_ids=accounts) + " ORDER BY id ASC")
    assert operands(query.where, "project") == [key]
    assert operands(query.where, "assignee") == accounts
    assert operands(query.where, "reporter") == accounts
    assert operands(query.where, "worklogauthor") == accounts


cron_field = st.one_of(
    st.just("*"),
    st.integers(-5, 70).map(str),
    st.builds(lambda a, b: f"{a}-{b}", st.integers(0, 65), st.integers(0, 65)),
    st.builds(lambda s: f"*/{s}", st.integers(0, 70)),
    st.text(st.sampled_from("0123456789*/,-abcjanmon"), max_size=6),
)


@settings(max_examples=300)
@given(fields=st.lists(cron_field, min_size=1, max_size=7))
def test_a_cron_is_either_refused_with_a_message_or_understood_by_the_scheduler(fields):
    expression = " ".join(fields)
    try:
        normalised = cron_validate(expression=expression)
    except InvalidInput as error:
        assert error.field == "cron"  # noqa: PT017
        assert error.message  # noqa: PT017
        return
    assert croniter.is_valid(normalised), normalised


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "minute field '61' is out of range 0-59"),
        ("* 24 * * *", "hour field '24' is out of range 0-23"),
        ("* * * *", "a cron expression has 5 fields"),
    ],
)
def test_invalid_crons_name_the_bad_field(expression, message):
    with pytest.raises(InvalidInput, match=message):
        cron_validate(expression=expression)
