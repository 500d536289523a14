"""The classifier turns every shape of Jira failure into one code with advice for a person."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import urllib3

from core.redaction import register_secret
from sync.jira.errors import (
    ADVICE,
    RETRYABLE,
    JiraError,
    JiraErrorCode,
    classify_exception,
    classify_response,
    endpoint_template,
    extract_messages,
    looks_deactivated,
    parse_retry_after,
)

C = JiraErrorCode
POOL = urllib3.HTTPConnectionPool("127.0.0.1")
SEARCH_URL = "https://acme.atlassian.net/rest/api/3/search/jql"


def make_response(
    status: int,
    body: object = b"",
    *,
    headers: dict[str, str] | None = None,
    url: str = SEARCH_URL,
    method: str = "POST",
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.url = url
    if isinstance(body, dict | list):
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
    elif isinstance(body, str):
        response._content = body.encode()
    else:
        assert isinstance(body, bytes)
        response._content = body
    response.headers.update(headers or {})
    response.encoding = "utf-8"
    response.request = requests.Request(method, url).prepare()
    return response


def classify(response: requests.Response, *, verified: bool = False) -> JiraError:
    error = classify_response(response, credentials_verified=verified)
    assert error is not None
    return error


def test_every_code_has_one_line_advice():
    for code in JiraErrorCode:
        assert ADVICE[code]
        assert "\n" not in ADVICE[code]


def test_a_plain_success_is_not_an_error():
    response = make_response(200, {"issues": []}, headers={"X-Seraph-LoginReason": "OK"})
    assert classify_response(response, credentials_verified=False) is None


@pytest.mark.parametrize("reason", ["AUTHENTICATED_FAILED", "AUTHENTICATION_DENIED"])
def test_an_empty_200_with_a_failed_login_reason_is_an_auth_failure(reason):
    response = make_response(200, {"issues": []}, headers={"X-Seraph-LoginReason": reason})
    error = classify(response)
    assert error.code is C.AUTH_FAILED
    assert not error.retryable
    assert reason in error.message


def test_a_failed_login_with_credentials_that_worked_before_is_an_expired_token():
    response = make_response(200, {"issues": []}, headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"})
    assert classify(response, verified=True).code is C.TOKEN_EXPIRED


def test_401_is_auth_failed_first_and_token_expired_once_verified():
    body = "Client must be authenticated to access this resource."
    response = make_response(401, body, url="https://acme.atlassian.net/rest/api/3/myself", method="GET")
    first = classify(response)
    assert first.code is C.AUTH_FAILED
    assert first.jira_messages == [body]
    assert body in first.message
    later = classify(response, verified=True)
    assert later.code is C.TOKEN_EXPIRED
    assert "id.atlassian.com" in later.advice


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"errorMessages": ["Tenant is restricted: suspended-payment"]}, C.SUSPENDED_PAYMENT),
        ("Tenant is restricted: suspended-inactivity", C.SUSPENDED_INACTIVITY),
        ({"errorMessages": ["You do not have permission"], "errors": {}}, C.FORBIDDEN),
    ],
)
def test_403_tells_suspension_from_lack_of_permission(body, code):
    error = classify(make_response(403, body))
    assert error.code is code
    assert not error.retryable
    assert error.status == 403


def test_suspended_payment_advice_points_to_billing():
    error = classify(make_response(403, "Tenant is restricted: suspended-payment"))
    assert error.advice == "Contact Atlassian billing: the site is suspended for non-payment"


def test_429_is_rate_limited_with_retry_after_seconds():
    error = classify(
        make_response(429, {"errorMessages": ["Rate limit exceeded"]}, headers={"Retry-After": "7"})
    )
    assert error.code is C.RATE_LIMIT
    assert error.retryable
    assert error.retry_after == 7.0
    assert error.to_dict()["retry_after"] == 7.0  # SyncLog details carry it to telemetry
    assert "Retry-After" in error.advice


def test_retry_after_accepts_an_http_date():
    later = datetime.now(UTC) + timedelta(seconds=30)
    seconds = parse_retry_after(format_datetime(later, usegmt=True))
    assert seconds is not None
    assert 25 <= seconds <= 31


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("", None), ("soon", None), ("-3", 0.0), ("1.5", 1.5)]
)
def test_retry_after_edge_values(value, expected):
    assert parse_retry_after(value) == expected


def test_bad_jql_quotes_jira_in_message_and_advice():
    jira_says = "Field 'foo' does not exist or you do not have permission to view it."
    error = classify(make_response(400, {"errorMessages": [jira_says], "errors": {}}))
    assert error.code is C.BAD_JQL
    assert jira_says in error.message
    assert error.advice == f"Fix the JQL: {jira_says}"
    assert error.jira_messages == [jira_says]


def test_unbounded_jql_is_bad_jql():
    error = classify(make_response(400, {"errorMessages": ["Unbounded JQL queries are not allowed here."]}))
    assert error.code is C.BAD_JQL


def test_a_400_outside_search_is_a_bad_request():
    response = make_response(
        400, {"errors": {"ids": "must not be empty"}}, url="https://x/rest/api/3/worklog/list"
    )
    error = classify(response)
    assert error.code is C.BAD_REQUEST
    assert "ids: must not be empty" in error.message


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "No project could be found with key 'NOPE'."),
        (400, "The value 'NOPE' does not exist for the field 'project'."),
    ],
)
def test_unknown_project_wins_over_not_found_and_bad_jql(status, message):
    error = classify(make_response(status, {"errorMessages": [message]}))
    assert error.code is C.UNKNOWN_PROJECT
    assert message in error.advice


def test_other_404_is_not_found():
    response = make_response(
        404,
        {"errorMessages": ["Issue does not exist or you do not have permission to see it."]},
        url="https://x/rest/api/3/issue/10001",
        method="GET",
    )
    error = classify(response)
    assert error.code is C.NOT_FOUND
    assert error.endpoint == "GET /rest/api/3/issue/{id}"


def test_rfc7807_body_is_read():
    body = {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No endpoint GET /rest/x",
    }
    error = classify(make_response(404, body, url="https://x/rest/x", method="GET"))
    assert error.jira_messages == ["No endpoint GET /rest/x"]


def test_410_is_api_removed():
    body = {
        "errorMessages": ["The requested API has been removed. Please migrate to /rest/api/3/search/jql."]
    }
    error = classify(make_response(410, body, url="https://x/rest/api/3/search"))
    assert error.code is C.API_REMOVED
    assert not error.retryable
    assert "search/jql" in error.message


def test_500_json_body_is_a_retryable_server_error():
    body = {
        "message": "NullPointerException",
        "status-code": 500,
        "stack-trace": "at com.atlassian...",
    }
    error = classify(make_response(500, body))
    assert error.code is C.SERVER_ERROR
    assert error.retryable
    assert error.jira_messages == ["NullPointerException"]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_edge_errors_are_retryable_server_errors(status):
    html = "<html><head><title>Bad gateway</title><style>p{}</style></head><body><p>Oops</p></body></html>"
    error = classify(make_response(status, html, headers={"Content-Type": "text/html"}))
    assert error.code is C.SERVER_ERROR
    assert error.retryable
    assert error.jira_messages == ["Bad gateway Oops"]


def test_long_html_is_cut_to_a_short_snippet_without_tags():
    html = "<html><body>" + "<div>lorem ipsum</div>" * 500 + "</body></html>"
    [message] = extract_messages(make_response(502, html, headers={"Content-Type": "text/html"}))
    assert len(message) <= 200
    assert "<" not in message


def test_503_html_without_retry_after_looks_deactivated_but_not_with_retry_after():
    html = "<html><body>This site is deactivated</body></html>"
    assert looks_deactivated(make_response(503, html, headers={"Content-Type": "text/html"}))
    assert not looks_deactivated(
        make_response(503, html, headers={"Content-Type": "text/html", "Retry-After": "5"})
    )
    assert not looks_deactivated(make_response(503, {"message": "busy"}))
    assert not looks_deactivated(make_response(502, html, headers={"Content-Type": "text/html"}))


def test_503_with_retry_after_carries_it():
    error = classify(make_response(503, {"message": "busy"}, headers={"Retry-After": "3"}))
    assert error.code is C.SERVER_ERROR
    assert error.retry_after == 3.0


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (requests.ConnectionError("Connection refused"), C.NETWORK_GLITCH),
        (requests.ConnectTimeout("connect timed out"), C.TIMEOUT),
        (requests.ReadTimeout("read timed out"), C.TIMEOUT),
        (requests.Timeout("timed out"), C.TIMEOUT),
        (requests.exceptions.ChunkedEncodingError("IncompleteRead"), C.MALFORMED_RESPONSE),
        (requests.exceptions.ContentDecodingError("bad gzip"), C.MALFORMED_RESPONSE),
        (json.JSONDecodeError("Expecting value", '{"issues": [', 12), C.MALFORMED_RESPONSE),
        (requests.exceptions.TooManyRedirects("loop"), C.NETWORK_GLITCH),
        # What urllib3 raises for a read timeout when its own retries are exhausted.
        (
            requests.ConnectionError(
                urllib3.exceptions.MaxRetryError(
                    POOL, "/rest", urllib3.exceptions.ReadTimeoutError(POOL, "/rest", "timed out")
                )
            ),
            C.TIMEOUT,
        ),
    ],
)
def test_transport_failures_are_transient(exc, code):
    error = classify_exception(exc, endpoint="GET /rest/api/3/myself")
    assert error.code is code
    assert error.retryable
    assert error.advice
    assert error.endpoint == "GET /rest/api/3/myself"
    assert type(exc).__name__ in error.message


def test_retryable_set_is_exactly_the_transient_codes():
    assert {C.RATE_LIMIT, C.SERVER_ERROR, C.NETWORK_GLITCH, C.TIMEOUT, C.MALFORMED_RESPONSE} == RETRYABLE


def test_str_to_dict_and_repr():
    error = classify(make_response(401, "nope", url="https://x/rest/api/3/myself", method="GET"))
    assert str(error) == f"AUTH_FAILED: {error.message}"
    assert error.to_dict() == {
        "code": "AUTH_FAILED",
        "status": 401,
        "message": error.message,
        "advice": error.advice,
        "retryable": False,
        "endpoint": "GET /rest/api/3/myself",
        "retry_after": None,
    }
    json.dumps(error.to_dict())
    assert "AUTH_FAILED" in repr(error)


def test_errors_survive_pickling():
    error = classify(make_response(429, {"errorMessages": ["slow down"]}, headers={"Retry-After": "4"}))
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert isinstance(copy, JiraError)
    assert copy.to_dict() == error.to_dict()
    assert copy.retry_after == 4.0
    assert copy.jira_messages == ["slow down"]
    assert str(copy) == str(error)


def test_messages_are_one_line_and_never_carry_a_registered_secret():
    secret = "s3cr3t-token-value-123"
    register_secret(secret)
    body = {"errorMessages": [f"bad token\n{secret}"]}
    error = classify(make_response(400, body, url="https://x/rest/api/3/worklog/list"))
    assert secret not in str(error)
    assert secret not in json.dumps(error.to_dict())
    assert "\n" not in error.message


@pytest.mark.parametrize(
    ("url", "template"),
    [
        (
            "https://x/rest/api/3/issue/10001/comment?startAt=0",
            "GET /rest/api/3/issue/{id}/comment",
        ),
        ("https://x/rest/api/3/issue/ALPHA-12", "GET /rest/api/3/issue/{id}"),
        ("https://x/rest/api/3/project/ALPHA", "GET /rest/api/3/project/{id}"),
        ("https://x/rest/api/3/project/search", "GET /rest/api/3/project/search"),
        ("https://x/rest/agile/1.0/board/7/sprint", "GET /rest/agile/1.0/board/{id}/sprint"),
        ("https://x/rest/api/2/search", "GET /rest/api/2/search"),
        ("https://x/rest/api/3/user/assignable/search", "GET /rest/api/3/user/assignable/search"),
        ("https://x/rest/api/3/worklog/updated?since=1", "GET /rest/api/3/worklog/updated"),
        (
            "https://x/jira/rest/api/2/issue/10001/worklog/5",
            "GET /jira/rest/api/2/issue/{id}/worklog/{id}",
        ),
    ],
)
def test_endpoint_template_hides_ids(url, template):
    assert endpoint_template("get", url) == template


def test_the_codes_are_the_specs_and_the_old_names_read_as_them():
    from core.codes import CODE_ALIASES, code_canonical

    assert {"SUSPENDED_PAYMENT", "RATE_LIMIT", "NETWORK_GLITCH"} <= {str(c) for c in C}
    assert not set(CODE_ALIASES) & {str(c) for c in C}  # an alias is never a code of its own
    assert C("RATE_LIMITED") is C.RATE_LIMIT and C("NETWORK") is C.NETWORK_GLITCH
    assert (code_canonical("RATE_LIMITED"), code_canonical("TIMEOUT")) == ("RATE_LIMIT", "TIMEOUT")
    with pytest.raises(ValueError, match="NOT_A_CODE"):
        C("NOT_A_CODE")
