"""Two tenants on two Jira sites: a token limited to site A (or a user granted only site B) never sees a
project, issue, job, site, count, cached page or error of the other site; the other tenant's objects are
NOT_FOUND, exactly like objects that do not exist."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client
from graphql import get_named_type, is_leaf_type, is_non_null_type

from access.models import ApiToken
from access.tokens import token_create
from fakejira import FakeDataConfig
from jiraplus.schema import schema
from sync.models import Issue, SiteAccess, Sprint
from sync.services import sites
from tests.fixtures.sync import sync_and_wait
from tests.system.test_endpoint_auth import SAMPLE, routes, sample_url

pytestmark = pytest.mark.integration


@pytest.fixture
def tenants(celery_worker, fake_jira_factory) -> dict[str, Any]:
    fake_a = fake_jira_factory(FakeDataConfig(seed=11, projects={"ALPHA": 8}))
    fake_b = fake_jira_factory(FakeDataConfig(seed=12, projects={"ALPHA": 6, "BETA": 5}))
    site_a = sites.site_add(name="tenant-a", url=fake_a.base_url, email=fake_a.email, token=fake_a.api_token)
    site_b = sites.site_add(name="tenant-b", url=fake_b.base_url, email=fake_b.email, token=fake_b.api_token)
    projects = [
        *sites.projects_register(site=site_a, keys=["ALPHA"]),
        *sites.projects_register(site=site_b, keys=["ALPHA", "BETA"]),
    ]
    for project in projects:
        assert sync_and_wait(project, full=True).status == "SUCCEEDED"
    owner = User.objects.create_superuser("owner", "owner@example.com", "pw-owner-123")

    def client(site_ids: list[int], user: User = owner) -> Client:
        secret = token_create(
            name="t",
            username=user.username,
            scope_names=["read", "operate", "admin"],
            expires_at=None,
            site_ids=site_ids,
        ).secret
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT="application/json")

    return {"a": site_a, "b": site_b, "client": client}


def only_on_b(site_a: Any, site_b: Any) -> tuple[str, int]:
    """An issue key and a sprint id that exist on site B only."""
    issue = Issue.live.filter(project__key="BETA").values_list("key", flat=True).first()
    sprint = (
        Sprint.objects.filter(project__site=site_b)
        .exclude(jira_id__in=Sprint.objects.filter(project__site=site_a).values("jira_id"))
        .values_list("jira_id", flat=True)
        .first()
    )
    assert issue and sprint
    return issue, sprint


def gql(client: Client, query: str) -> dict[str, Any]:
    body: dict[str, Any] = client.post("/graphql", {"query": query}, "application/json").json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@pytest.mark.django_db(transaction=True)
def test_a_token_limited_to_one_site_sees_nothing_of_the_other(tenants):
    site_a, site_b = tenants["a"], tenants["b"]
    only_a = tenants["client"]([site_a.id])
    beta_issue, beta_sprint = only_on_b(site_a, site_b)
    seen: list[str] = []

    def get(url: str) -> Any:
        response = only_a.get(url)
        seen.append(response.content.decode())
        return response

    # Lists hold site A's rows only, and the key both sites use is no longer ambiguous.
    assert [(p["key"], p["site"]) for p in get("/api/projects/").json()] == [("ALPHA", "tenant-a")]
    assert get("/api/projects/ALPHA/").status_code == 200
    assert len(get("/api/projects/ALPHA/issues/?page_size=100").json()["results"]) == 8
    jobs = get("/api/sync-jobs/")
    assert jobs.status_code == 200 and len(jobs.json()) == 1
    assert [s["name"] for s in get("/api/sites/").json()] == ["tenant-a"]

    # The other tenant's objects answer as missing ones do.
    for url, missing in [
        ("/api/projects/BETA/", "/api/projects/NOSUCH/"),
        ("/api/projects/BETA/issues/", "/api/projects/NOSUCH/issues/"),
        ("/api/projects/BETA/runs/", "/api/projects/NOSUCH/runs/"),
        (f"/api/issues/{beta_issue}/", "/api/issues/NOSUCH-1/"),
        (f"/api/issues/{beta_issue}/history/", "/api/issues/NOSUCH-1/history/"),
        (f"/api/sites/{site_b.id}/jira-projects/", "/api/sites/999999/jira-projects/"),
        (f"/api/sprints/{beta_sprint}/scope-changes/", "/api/sprints/999999/scope-changes/"),
    ]:
        theirs, nothing = get(url), get(missing)
        assert theirs.status_code == nothing.status_code == 404, url
        assert theirs.json()["code"] == nothing.json()["code"] == "NOT_FOUND"
    assert only_a.get("/api/projects/ALPHA/?site=tenant-b").status_code == 404

    data = gql(only_a, "{ projects { key site } }")
    seen.append(json.dumps(data))
    assert data["data"]["projects"] == [{"key": "ALPHA", "site": "tenant-a"}]
    total = gql(only_a, '{ issues(projectKey: "ALPHA", first: 1) { totalCount } }')
    assert total["data"]["issues"]["totalCount"] == 8
    for query in (
        '{ issues(projectKey: "BETA", first: 5) { totalCount } }',
        f'{{ issue(key: "{beta_issue}") {{ key summary }} }}',
        '{ syncJob(projectId: "BETA") { status } }',
        '{ syncRuns(projectId: "BETA") { id } }',
    ):
        body = gql(only_a, query)
        seen.append(json.dumps(body))
        assert codes(body) == ["NOT_FOUND"], (query, body)

    paused = gql(only_a, 'mutation { pauseProjectSync(projectId: "BETA") { errors { code } } }')
    assert paused["data"]["pauseProjectSync"]["errors"] == [{"code": "NOT_FOUND"}]
    assert not any("tenant-b" in page for page in seen)


@pytest.mark.django_db(transaction=True)
def test_the_read_cache_never_serves_one_tenants_page_to_another(tenants):
    only_a, only_b = tenants["client"]([tenants["a"].id]), tenants["client"]([tenants["b"].id])
    query = '{ projects { key site } issues(projectKey: "ALPHA", first: 3) { totalCount } }'
    for _ in range(2):  # the second round is served from the cache
        a, b = gql(only_a, query)["data"], gql(only_b, query)["data"]
        assert a["projects"] == [{"key": "ALPHA", "site": "tenant-a"}] and a["issues"]["totalCount"] == 8
        assert {p["site"] for p in b["projects"]} == {"tenant-b"} and b["issues"]["totalCount"] == 6
        assert only_a.get("/api/projects/").json()[0]["site"] == "tenant-a"
        assert {p["site"] for p in only_b.get("/api/projects/").json()} == {"tenant-b"}


@pytest.mark.django_db(transaction=True)
def test_a_user_granted_one_site_sees_only_it_and_a_token_narrows_further(tenants):
    member = User.objects.create_user("member", password="pw-member-123")
    member.user_permissions.add(*Permission.objects.filter(codename="operate_sync"))
    SiteAccess.objects.create(user=member, site=tenants["b"])

    unlimited_token = tenants["client"]([], member)
    assert {p["site"] for p in unlimited_token.get("/api/projects/").json()} == {"tenant-b"}
    assert unlimited_token.get("/api/projects/BETA/").status_code == 200

    # A token of that user limited to site A sees what both allow: nothing.
    narrowed = tenants["client"]([tenants["a"].id], member)
    assert narrowed.get("/api/projects/").json() == []
    assert gql(narrowed, "{ projects { key } }")["data"]["projects"] == []


@pytest.mark.django_db(transaction=True)
def test_the_command_limits_a_token_to_named_sites_and_rotation_keeps_them(tenants):
    out = io.StringIO()
    call_command(
        "create_api_token",
        "ci",
        "--user",
        "owner",
        "--scope",
        "read",
        "--site",
        "tenant-b",
        stdout=out,
        stderr=io.StringIO(),
    )
    token = ApiToken.objects.get(name="ci")
    assert token.site_ids == [tenants["b"].id]
    rotated = io.StringIO()
    call_command("api_token", "rotate", token.prefix, stdout=rotated, stderr=io.StringIO())
    client = Client(HTTP_AUTHORIZATION=f"Bearer {rotated.getvalue().strip()}")
    assert {p["site"] for p in client.get("/api/projects/").json()} == {"tenant-b"}
    with pytest.raises(CommandError, match="No site 'nowhere'"):
        call_command("create_api_token", "x", "--user", "owner", "--scope", "read", "--site", "nowhere")


@pytest.mark.django_db(transaction=True)
def test_every_url_named_after_the_other_tenants_objects_answers_as_for_missing_ones(tenants):
    site_a, site_b = tenants["a"], tenants["b"]
    only_a = tenants["client"]([site_a.id])
    beta_issue, beta_sprint = only_on_b(site_a, site_b)
    # Each of site B's identifiers, and one that names nothing at all.
    swaps = [
        (beta_issue, "NOSUCH-1"),
        ("BETA", "NOSUCH"),
        (str(site_b.id), "999999"),
        (str(beta_sprint), "999998"),
    ]
    urls = set()
    for route in routes():
        if route.startswith(("admin/", "webhooks/")) or route.strip("/") in ("healthz", "readyz", "metrics"):
            continue
        key = beta_issue if route.startswith("api/issues/") else "BETA"
        url = sample_url(route).replace(f"/{SAMPLE['key']}/", f"/{key}/")
        url = url.replace("/sprints/1/", f"/sprints/{beta_sprint}/").replace("/1/", f"/{site_b.id}/")
        urls.add(url)

    checked = 0
    for url in sorted(urls):
        response = only_a.get(url)
        assert "tenant-b" not in response.content.decode(), url
        missing_url = url
        for theirs, nothing in swaps:
            missing_url = missing_url.replace(f"/{theirs}/", f"/{nothing}/")
        if missing_url == url:
            continue  # names nothing of site B: a list, filtered above
        missing = only_a.get(missing_url)
        body = response.content.decode()
        for theirs, nothing in swaps:  # as the messages repeat what was asked for
            body = re.sub(rf"(?<![\w-]){re.escape(theirs)}(?![\w-])", nothing, body)
        assert (response.status_code, body) == (missing.status_code, missing.content.decode()), url
        checked += 1
    assert checked >= 10


# GraphQL arguments that name a tenant's objects, and what each takes for site B.
_OBJECT_ARGUMENTS = {"projectId", "projectKey", "key", "issueKey", "sprintId", "siteId"}
_PLAIN = {"cron": '"0 * * * *"', "accountIds": '["x"]', "keys": '["ALPHA"]'}


def _literal(value: str | int) -> str:
    return json.dumps(str(value))


def _document(operation: str, name: str, field: Any, values: dict[str, str]) -> str:
    arguments = dict(values)
    for arg_name, arg in field.args.items():
        if arg_name not in arguments and is_non_null_type(arg.type):
            arguments[arg_name] = _PLAIN.get(arg_name, '"x"')
    args = ", ".join(f"{k}: {v}" for k, v in arguments.items())
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    return f"{operation} {{ {name}{f'({args})' if args else ''}{selection} }}"


@pytest.mark.django_db(transaction=True)
def test_every_graphql_field_naming_the_other_tenants_objects_answers_as_for_missing_ones(tenants):
    site_a, site_b = tenants["a"], tenants["b"]
    only_a = tenants["client"]([site_a.id])
    beta_issue, beta_sprint = only_on_b(site_a, site_b)
    theirs = {"projectId": "BETA", "projectKey": "BETA", "key": beta_issue, "issueKey": beta_issue}
    theirs["sprintId"] = str(beta_sprint)
    swaps = [
        (beta_issue, "NOSUCH-1"),
        ("BETA", "NOSUCH"),
        (str(site_b.id), "999999"),
        (str(beta_sprint), "999998"),
    ]

    def missing(value: str) -> str:
        for b_value, nothing in swaps:
            value = re.sub(rf"(?<![\w-]){re.escape(b_value)}(?![\w-])", nothing, value)
        return value

    checked = []
    roots = {"query": schema.graphql_schema.query_type, "mutation": schema.graphql_schema.mutation_type}
    for operation, root in roots.items():
        for name, field in sorted(root.fields.items()):
            named = _OBJECT_ARGUMENTS & set(field.args)
            variants = []
            if named - {"siteId"}:  # their object by key or id
                variants.append({a: _literal(theirs[a]) for a in named - {"siteId"}})
            if "siteId" in named:  # a key both sites hold, on their site
                shared = {a: _literal("ALPHA") for a in named & {"projectId", "projectKey"}}
                if not named - {"siteId", "projectId", "projectKey"}:
                    variants.append({**shared, "siteId": _literal(site_b.id)})
            for values in variants:
                document = _document(operation, name, field, values)
                answer = only_a.post("/graphql", {"query": document}, "application/json")
                nothing = only_a.post("/graphql", {"query": missing(document)}, "application/json")
                assert "tenant-b" not in answer.content.decode(), document
                expected = (nothing.status_code, nothing.json())
                assert (answer.status_code, json.loads(missing(answer.content.decode()))) == expected, (
                    document
                )
                checked.append(f"{operation}.{name}")
    assert len(set(checked)) >= 20, checked


@pytest.mark.django_db(transaction=True)
def test_a_cursor_from_the_other_tenant_pages_only_through_ones_own_issues(tenants):
    only_a, only_b = tenants["client"]([tenants["a"].id]), tenants["client"]([tenants["b"].id])
    page = """{ issues(projectKey: "ALPHA", first: 2, after: %s) {
        pageInfo { endCursor } edges { node { summary } } } }"""
    their_cursor = gql(only_b, page % "null")["data"]["issues"]["pageInfo"]["endCursor"]
    ours = set(Issue.live.filter(site=tenants["a"]).values_list("summary", flat=True))
    theirs = set(Issue.live.filter(site=tenants["b"]).values_list("summary", flat=True)) - ours

    body = gql(only_a, page % json.dumps(their_cursor))
    assert "errors" not in body, body  # site A's ALPHA, not an ambiguous key
    summaries = {e["node"]["summary"] for e in body["data"]["issues"]["edges"]}
    assert summaries <= ours and not summaries & theirs, body
