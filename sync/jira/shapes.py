"""Checks on the shape of Jira's answers: an answer we cannot read is SCHEMA_CHANGED, never a silent
empty result."""

from __future__ import annotations

from typing import Any

from sync.jira.errors import JiraError, JiraErrorCode, make_error

JSON = Any


def expect_dict(data: JSON, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise schema_error(what, "a JSON object")
    return data


def expect_list(data: JSON, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise schema_error(what, "a JSON list")
    return data


def expect_issues(data: dict[str, Any], what: str) -> list[dict[str, Any]]:
    issues = data.get("issues")
    if not isinstance(issues, list):
        raise schema_error(what, "an 'issues' list")
    return issues


def schema_error(what: str, expected: str) -> JiraError:
    return make_error(
        JiraErrorCode.SCHEMA_CHANGED, endpoint=what, detail=f"expected {expected} in the answer"
    )


def recode(error: JiraError, code: JiraErrorCode) -> JiraError:
    """The same failure under a more precise code (a 404 on a project is an unknown project)."""
    return make_error(
        code,
        status=error.status,
        endpoint=error.endpoint,
        jira_messages=error.jira_messages,
        retry_after=error.retry_after,
    )
