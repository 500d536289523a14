"""Who may call, how much, how deep; what an error may say; and the Jira token never leaving the database."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from sync import selectors
from sync.models import JiraSite
from tests.sync.integration.api.conftest import PLANTED_TOKEN, RecordingClient

pytestmark = pytest.mark.integration

READS = [
    "/api/",
    "/api/projects/",
    "/api/projects/ALPHA/",
    "/api/projects/ALPHA/issues/",
    "/api/projects/ALPHA/sprints/",
    "/api/projects/ALPHA/users/",
    "/api/projects/ALPHA/sync-job/",
    "/api/projects/ALPHA/states/",
    "/api/projects/ALPHA/runs/",
    "/api/projects/ALPHA/logs/",
    "/api/sync-jobs/",
    "/api/issues/ALPHA-1/",
    "/api/schema/",
]


@pytest.mark.parametrize("url", READS)
def test_rest_refuses_anonymous_callers(anon, url):
    response = anon.get(url, HTTP_ACCEPT="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


QUERIES = [
    '{ issues(projectKey: "ALPHA") { totalCount } }',
    '{ issue(key: "ALPHA-1") { key } }',
    "{ projects { key } }",
    '{ sprints(projectKey: "ALPHA") { id } }',
    '{ users(projectKey: "ALPHA") { accountId } }',
    '{ trackedUsers(projectId: "ALPHA") { accountId } }',
    '{ syncJob(projectId: "ALPHA") { id } }',
    '{ syncStates(projectId: "ALPHA") { entity } }',
    '{ syncLogs(projectId: "ALPHA") { message } }',
    '{ syncRuns(projectId: "ALPHA") { id } }',
    '{ jiraProjectOptions(siteId: "planted") { key } }',
    '{ jiraProjectUserOptions(projectId: "ALPHA") { accountId } }',
]


@pytest.mark.parametrize("query", QUERIES)
def test_every_graphql_query_refuses_anonymous_callers_and_serves_readers(anon, reader, query):
    refused = anon.gql(query)
    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHENTICATED"
    served = reader.gql(query)
    assert served.status_code == 200 and "errors" not in served.json()


def test_graphql_refuses_bad_tokens(world):
    bad = RecordingClient(world, HTTP_AUTHORIZATION="Token not-a-real-token")
    response = bad.gql("{ projects { key } }")
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def test_a_session_works_for_graphql_and_rest(staff_session):
    assert staff_session.gql("{ projects { key } }").json()["data"]["projects"][0]["key"] == "ALPHA"
    assert staff_session.get("/api/projects/").status_code == 200


def test_a_session_post_without_csrf_token_is_refused(world):
    client = RecordingClient(world, enforce_csrf_checks=True)
    client.force_login(User.objects.get_or_create(username="csrf-victim", defaults={"is_staff": True})[0])

    response = client.gql("{ projects { key } }")

    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]


def test_deep_queries_are_refused(reader):
    deep = "parent { " * 12 + "key" + " }" * 12
    response = reader.gql('{ issue(key: "ALPHA-1") { ' + deep + " } }")

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert "depth" in error["message"]
    assert "data" not in response.json()


def test_alias_floods_are_refused(reader):
    aliases = " ".join(f"a{n}: projects {{ key }}" for n in range(25))
    response = reader.gql("{ " + aliases + " }")

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"


def test_graphiql_is_served_only_with_debug(staff_session):
    html = {"HTTP_ACCEPT": "text/html"}
    assert b"graphiql" not in staff_session.get("/graphql", **html).content.lower()
    with override_settings(DEBUG=True):
        page = staff_session.get("/graphql", **html)
    assert page.status_code == 200 and b"graphiql" in page.content.lower()


def _explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("internal detail: connection string postgres://db-password@host")


def test_unexpected_errors_are_masked_outside_debug(reader, monkeypatch):
    monkeypatch.setattr(selectors, "projects_list", _explode)

    masked = reader.gql("{ projects { key } }").json()["errors"][0]
    assert masked["message"] == "Internal server error"
    assert masked["extensions"]["code"] == "INTERNAL_ERROR"
    rest = reader.get("/api/projects/")
    assert rest.status_code == 500
    assert rest.json() == {"code": "INTERNAL_ERROR", "message": "Internal server error", "field": None}
    with override_settings(DEBUG=True):
        shown = reader.gql("{ projects { key } }").json()["errors"][0]
    assert "internal detail" in shown["message"]


def test_callers_are_throttled(reader, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "3/min"})
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "3/min"})

    statuses = [reader.get("/api/projects/").status_code for _ in range(3)]
    throttled = reader.gql("{ projects { key } }")

    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "THROTTLED"
    assert int(throttled["Retry-After"]) > 0


def test_jira_errors_from_live_pickers_never_echo_the_token(world, reader):
    wrong = f"{PLANTED_TOKEN}-but-wrong"
    site = JiraSite.objects.create(
        name="wrong-token", base_url=world.fake.base_url, email=world.fake.email, api_token=wrong
    )
    try:
        response = reader.gql('{ jiraProjectOptions(siteId: "wrong-token") { key } }')
        rest = reader.get("/api/projects/")
    finally:
        site.delete()

    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "AUTH_FAILED"
    assert error["extensions"]["advice"]
    assert wrong.encode() not in response.content and rest.status_code == 200


def test_no_response_of_the_api_tests_holds_the_token_or_its_ciphertext(world, reader, staff_session):
    """Sweep every read once more (the per-test check covers the rest), then search all recorded bodies."""
    for url in READS:
        assert reader.get(url).status_code == 200, url
    introspection = staff_session.gql("{ __schema { types { name fields { name } } } }").json()
    names = {f["name"] for t in introspection["data"]["__schema"]["types"] for f in t["fields"] or []}
    assert not {"apiToken", "api_token", "token"} & names

    bodies = world.responses
    assert len(bodies) >= len(READS) + 1
    assert any(b"planted" in body for body in bodies), "the recorder must see site data"
    for body in bodies:
        assert PLANTED_TOKEN.encode() not in body
        assert world.ciphertext.encode() not in body
