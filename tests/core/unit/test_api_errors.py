"""One error shape for every REST failure, and opaque GraphQL issue cursors."""

from __future__ import annotations

import pytest
from rest_framework import exceptions

from core.errors import InvalidInput, NotFound
from core.interfaces.errors import describe, rest_exception_handler
from sync.graphql.pagination import decode_cursor, encode_cursor


def test_a_service_error_keeps_its_code_field_and_advice():
    body = describe(InvalidInput("bad cron", field="cron", advice="use 5 fields"))
    assert body == {"code": "INVALID_INPUT", "message": "bad cron", "field": "cron", "advice": "use 5 fields"}


def test_a_bug_has_no_public_description():
    assert describe(RuntimeError("secret")) is None


def test_validation_errors_name_the_first_field_and_list_them_all():
    response = rest_exception_handler(
        exceptions.ValidationError({"cron": ["required"], "account_ids": {"0": ["blank"]}}), {}
    )
    assert response.status_code == 400
    assert response.data["code"] == "INVALID_INPUT"
    assert (response.data["field"], response.data["message"]) == ("cron", "required")
    assert [e["field"] for e in response.data["errors"]] == ["cron", "account_ids.0"]


def test_not_found_service_errors_are_404_and_others_400():
    assert rest_exception_handler(NotFound("no such project", field="project"), {}).status_code == 404
    assert rest_exception_handler(InvalidInput("bad", field="cron"), {}).status_code == 400


@pytest.mark.parametrize("jira_id", [1, 10001, 2**40])
def test_cursors_round_trip(jira_id):
    assert decode_cursor(encode_cursor(jira_id)) == jira_id


@pytest.mark.parametrize("cursor", ["", "bm9wZQ==", "not base64!", "aXNzdWU6eA=="])
def test_foreign_cursors_are_invalid_input_naming_after(cursor):
    with pytest.raises(InvalidInput) as raised:
        decode_cursor(cursor)
    assert raised.value.field == "after"
