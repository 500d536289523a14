"""Every URL the project serves, found by walking the URL resolver (so a new endpoint is covered the day it
is added): anonymous callers are refused, read-only users cannot change anything."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Public by design, each with its reason; everything else must authenticate.
PUBLIC = {
    "healthz": "liveness probe for load balancers: answers {'status': 'ok'} and nothing else",
    "readyz": "readiness for monitors: each check's name with ok or fail (503 while one fails), no detail",
}
# What each public probe may answer: readiness is 503 while a part is down (no worker runs here).
PUBLIC_STATUSES = {"healthz": (200, 405), "readyz": (200, 503, 405)}
# Authenticated by an HMAC signature of the body instead of a user (tested in test_history_and_webhooks).
SIGNED = {"webhooks/jira/1/"}
SAMPLE = {"key": "ALPHA", "pk": "1", "id": "1", "site_id": "1"}


def routes(patterns: list[URLPattern | URLResolver] | None = None, prefix: str = "") -> Iterator[str]:
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, text)
        else:
            yield text


def sample_url(route: str) -> str:
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLE.get(m.group(1), "1"), route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE.get(m.group(1), "1"), route)
    route = route.replace("\\.", ".").replace("^", "").replace("$", "")
    return "/" + re.sub(r"\(\?:?[^)]*\)\??", "", route)


API_URLS = sorted({sample_url(r) for r in routes() if not r.startswith("admin/")})
ADMIN_URLS = sorted(
    {sample_url(r) for r in routes() if r.startswith("admin/")} - {"/admin/login/", "/admin/logout/"}
)


def test_the_walk_finds_the_endpoints_we_know():
    assert {"/graphql", "/api/", "/api/projects/", "/metrics", "/api/schema/"} <= set(API_URLS)
    assert len(ADMIN_URLS) > 20


@pytest.mark.parametrize("url", API_URLS)
def test_anonymous_callers_are_refused_everywhere_but_the_liveness_probe(url):
    client = Client()
    for method in (client.get, client.post):
        status = method(url).status_code
        if url.strip("/") in PUBLIC:
            assert status in PUBLIC_STATUSES[url.strip("/")], (url, status)
        elif url.lstrip("/") in SIGNED:
            assert status in (401, 403, 404, 405), (url, status)
        else:  # a read-only endpoint may refuse the method before asking who calls: that reveals nothing
            allowed = (401, 403, 405) if method == client.post else (401, 403)
            assert status in allowed, f"{method.__name__.upper()} {url} answered {status} to a stranger"


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_every_admin_page_sends_strangers_to_the_login(url):
    response = Client().get(url)
    assert response.status_code in (302, 404), (url, response.status_code)
    if response.status_code == 302:
        assert response["Location"].startswith("/admin/login/"), (url, response["Location"])


@pytest.mark.parametrize("url", [u for u in API_URLS if u.startswith("/api/") or u == "/graphql"])
def test_a_read_only_user_changes_nothing(url):
    User.objects.create_user("reader", password="pw-reader-123")
    client = Client()
    client.force_login(User.objects.get(username="reader"))
    if url == "/graphql":
        mutation = '{"query": "mutation { pauseProjectSync(projectId: \\"ALPHA\\") { errors { code } } }"}'
        body = client.post(url, mutation, content_type="application/json").json()
        codes = [e["code"] for e in body["data"]["pauseProjectSync"]["errors"]]
        assert codes == ["PERMISSION_DENIED"], body
        return
    status = client.post(url, {}, content_type="application/json").status_code
    assert status in (403, 404, 405), f"POST {url} answered {status} to a read-only user"
