"""API tokens: only a digest is stored, the secret is shown once, and a token does what its scopes and its
owner allow, no more; failed attempts are throttled; the old plain-text keys are hashed and keep working."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token

from access import tokens
from access.models import ApiToken
from core import scopes
from jiraplus.schema import FIELD_SCOPES, schema
from tests.fixtures.tokens import token_for
from tests.system.test_endpoint_auth import API_URLS

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

hash_drf_keys = __import__("access.migrations.0002_hash_drf_tokens", fromlist=["hash_keys"]).hash_keys


@pytest.fixture(autouse=True)
def no_failure_counts() -> None:
    cache.clear()  # failed-authentication counters of earlier tests


@pytest.fixture
def owner() -> User:
    return User.objects.create_superuser("owner", "owner@example.com", "pw-owner-123")


def call(secret: str, method: str = "get", url: str = "/api/projects/", **extra: Any) -> Any:
    client = Client(
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        HTTP_ACCEPT="application/json, text/html;q=0.5",
        REMOTE_ADDR=extra.pop("ip", "10.0.0.1"),
    )
    return getattr(client, method)(url, content_type="application/json", **extra)


def create(*argv: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", *argv, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_the_secret_is_printed_once_and_only_its_digest_is_stored(owner):
    secret, said = create("dashboards", "--user", "owner", "--scope", "read", "--expires", "30d")

    token = ApiToken.objects.get()
    assert secret.startswith(token.prefix + "_") and len(secret) >= 4 + 8 + 1 + 43  # 256 random bits
    assert token.digest == tokens.digest(secret) and token.scopes == ["read"]
    assert token.expires_at is not None and abs(
        token.expires_at - timezone.now() - timedelta(days=30)
    ) < timedelta(minutes=1)
    assert secret not in said and "cannot be shown again" in said
    with connection.cursor() as cursor:  # no column of any row holds the secret or its random part
        cursor.execute("SELECT * FROM access_apitoken")
        stored = repr(cursor.fetchall())
    assert secret not in stored and secret.split("_", 2)[2] not in stored

    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert token.prefix in listing.getvalue() and secret not in listing.getvalue()
    assert call(secret).status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Token {secret}").get("/api/projects/").status_code == 200


def test_bad_arguments_are_refused_with_what_to_do(owner):
    with pytest.raises(CommandError, match="No user 'ghost'"):
        create("x", "--user", "ghost", "--scope", "read")
    with pytest.raises(CommandError, match=r"not a token lifetime.*90d"):
        create("x", "--user", "owner", "--scope", "read", "--expires", "soon")
    with pytest.raises(CommandError, match="invalid choice: 'root'"):
        create("x", "--user", "owner", "--scope", "root")
    assert not ApiToken.objects.exists()


def test_expired_revoked_and_wrong_tokens_are_refused(owner):
    secret = token_for(owner)
    prefix = tokens.token_prefix(secret)
    assert prefix is not None

    wrong = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert call(wrong).json()["message"] == tokens.INVALID
    assert call("jpp_nothere_" + "x" * 43).json()["message"] == tokens.INVALID
    assert call(secret).status_code == 200

    ApiToken.objects.filter(prefix=prefix).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = call(secret)
    assert expired.status_code == 401 and "expired" in expired.json()["message"]
    assert expired["WWW-Authenticate"].startswith("Bearer")

    ApiToken.objects.filter(prefix=prefix).update(expires_at=None)
    call_command("api_token", "revoke", prefix, stdout=io.StringIO())
    assert call(secret).status_code == 401
    with pytest.raises(CommandError, match=f"No live API token {prefix}"):
        call_command("api_token", "revoke", prefix)

    owner.is_active = False
    owner.save()
    assert call(token_for(owner)).status_code == 401  # a deactivated owner's tokens stop with them


def test_rotation_replaces_the_secret_and_keeps_name_scopes_and_lifetime(owner):
    old = tokens.token_create(
        name="ci",
        username="owner",
        scope_names=["operate", "read"],
        expires_at=timezone.now() + timedelta(days=7),
    )
    out = io.StringIO()
    call_command("api_token", "rotate", old.token.prefix, stdout=out, stderr=io.StringIO())
    new_secret = out.getvalue().strip()

    new = ApiToken.objects.get(digest=tokens.digest(new_secret))
    assert (new.name, new.scopes, new.user) == ("ci", ["read", "operate"], owner)
    assert new.expires_at is not None and abs(
        new.expires_at - timezone.now() - timedelta(days=7)
    ) < timedelta(minutes=1)
    assert call(old.secret).status_code == 401 and call(new_secret).status_code == 200


def test_last_use_is_written_at_most_once_a_minute(owner):
    secret = token_for(owner)
    now = timezone.now()
    first = tokens.token_authenticate(secret, now=now)
    assert ApiToken.objects.get(id=first.id).last_used_at == now

    tokens.token_authenticate(secret, now=now + timedelta(seconds=30))
    assert ApiToken.objects.get(id=first.id).last_used_at == now  # within the minute: no write

    later = now + timedelta(seconds=61)
    tokens.token_authenticate(secret, now=later)
    assert ApiToken.objects.get(id=first.id).last_used_at == later


def test_the_old_plain_keys_are_hashed_and_keep_working_until_rotated(owner):
    key = Token.objects.create(user=owner).key

    hash_drf_keys(apps, None)

    assert not Token.objects.exists()  # no plain key left in the database
    migrated = ApiToken.objects.get()
    assert (
        migrated.migrated
        and migrated.digest == tokens.digest(key)
        and key not in migrated.prefix + migrated.name
    )
    assert sorted(migrated.scopes) == sorted(scopes.SCOPES)
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/projects/").status_code == 200

    out = io.StringIO()
    call_command("api_token", "rotate", migrated.prefix, stdout=out, stderr=io.StringIO())
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/projects/").status_code == 401
    assert call(out.getvalue().strip()).status_code == 200


@override_settings(API_AUTH_FAILURES_PER_MINUTE=3)
def test_failed_authentications_are_throttled_per_client_and_per_prefix(owner):
    secret = token_for(owner)
    guess = f"{tokens.token_prefix(secret)}_{'G' * 43}"
    for _ in range(3):
        assert call(guess, ip="10.0.0.9").status_code == 401

    # The client is held, even with a good token ...
    assert call(secret, ip="10.0.0.9").status_code == 429
    # ... and the guessed prefix is held from every client, so spreading guesses over addresses gains nothing.
    held = call(guess, ip="10.0.0.10")
    assert held.status_code == 429 and int(held["Retry-After"]) > 0
    # Another client with another token is untouched.
    assert call(token_for(owner), ip="10.0.0.11").status_code == 200


# --- The scope matrix -------------------------------------------------------------------------------------

# Every URL that accepts a change, with the scope it needs; GET of every API URL needs `read`.
CHANGE_SCOPES = {
    "/api/messages/": scopes.NOTIFY,
    "/api/orchestrations/": scopes.OPERATE,
    **{
        f"/api/orchestrations/1/{act}/": scopes.OPERATE
        for act in ("approve", "cancel", "pause", "reject", "resume", "retry")
    },
    **{
        f"/api/projects/ALPHA/{act}/": scopes.OPERATE
        for act in (
            "cancel",
            "pause",
            "reschedule",
            "resume",
            "start",
            "sync",
            "tracked-users",
            "tracked-users/remove",
        )
    },
    "/api/projects/ALPHA/unregister/": scopes.ADMIN,
    "/api/sites/": scopes.ADMIN,
    "/api/sites/test/": scopes.ADMIN,
    "/api/sites/1/projects/": scopes.ADMIN,
}
# Reads that reach Jira with a site's credentials belong to onboarding.
READ_SCOPES = {"/api/sites/1/jira-projects/": scopes.ADMIN, "/api/audit/": scopes.ADMIN}
# Outside token scopes: probes, the metrics scrape token, Jira's signed webhooks; GraphQL has its own matrix.
OUTSIDE = {"/healthz", "/readyz", "/metrics", "/webhooks/jira/1/", "/graphql"}
SCOPED_URLS = [u for u in API_URLS if u not in OUTSIDE]


def refused_for_scope(response: Any, scope: str) -> bool:
    if response.status_code != 403:
        return False
    if response["Content-Type"].startswith("text/html"):  # the API's documentation page: a bare refusal
        assert response.content == b"403 Forbidden"
        return True
    body = response.json()
    # A refusal names the missing scope and nothing else: no data, no hint whether the object exists.
    assert body == {"code": "PERMISSION_DENIED", "message": scopes.scope_denied(scope), "field": None}, body
    return True


def test_every_change_url_is_classified():
    assert set(CHANGE_SCOPES) <= set(SCOPED_URLS)


@pytest.mark.parametrize("scope", scopes.SCOPES)
def test_every_url_allows_exactly_its_scope(owner, scope):
    secret = token_for(owner, [scope])
    every_scope = token_for(owner)
    wrong: list[str] = []
    for url in SCOPED_URLS:
        needed = READ_SCOPES.get(url, scopes.READ)
        readable = call(every_scope, "get", url).status_code != 405  # not an act's URL that only takes POST
        if readable and refused_for_scope(call(secret, "get", url), needed) == (needed == scope):
            wrong.append(f"GET {url}")
        if url in CHANGE_SCOPES:
            needed = CHANGE_SCOPES[url]
            if refused_for_scope(call(secret, "post", url, data={}), needed) == (needed == scope):
                wrong.append(f"POST {url}")
    assert not wrong, f"a '{scope}' token was wrongly allowed or refused: {wrong}"


def test_a_refusal_is_the_same_for_an_object_that_exists_and_one_that_does_not(owner):
    secret = token_for(owner, [scopes.READ])
    one, other = (call(secret, "post", f"/api/projects/{key}/pause/").json() for key in ("ALPHA", "NOSUCH"))
    assert (
        one
        == other
        == {"code": "PERMISSION_DENIED", "message": scopes.scope_denied("operate"), "field": None}
    )


def gql(secret: str, document: str) -> Any:
    return call(secret, "post", "/graphql", data={"query": document})


def graphql_refused(response: Any, scope: str) -> bool:
    if response.status_code != 403:
        return False
    assert response.json() == {
        "errors": [
            {
                "message": scopes.scope_denied(scope),
                "extensions": {"code": "PERMISSION_DENIED", "field": None},
            }
        ]
    }
    return True


ROOTS = {"Query": schema.graphql_schema.query_type, "Mutation": schema.graphql_schema.mutation_type}
FIELDS = [(root, name) for root, kind in ROOTS.items() for name in sorted(kind.fields)]


def test_every_mutation_is_classified():
    mutations = {f"Mutation.{name}" for name in ROOTS["Mutation"].fields}
    assert mutations == {key for key in FIELD_SCOPES if key.startswith("Mutation.")}


@pytest.mark.parametrize("scope", scopes.SCOPES)
def test_every_graphql_field_allows_exactly_its_scope(owner, scope):
    secret = token_for(owner, [scope])
    wrong: list[str] = []
    for root, name in FIELDS:
        needed = FIELD_SCOPES.get(f"{root}.{name}", scopes.READ if root == "Query" else scopes.ADMIN)
        operation = "query" if root == "Query" else "mutation"
        response = gql(secret, f"{operation} {{ {name} {{ __typename }} }}")
        if graphql_refused(response, needed) == (needed == scope):
            wrong.append(f"{root}.{name} ({response.status_code})")
    assert not wrong, f"a '{scope}' token was wrongly allowed or refused: {wrong}"


def test_fragments_and_aliases_do_not_hide_a_mutation(owner):
    secret = token_for(owner, [scopes.READ, scopes.OPERATE])
    sneaky = """
        mutation { ok: pauseProjectSync(projectId: "A") { errors { code } } ...more }
        fragment more on Mutation {
            ... on Mutation { x: unregisterJiraProject(projectId: "A") { errors { code } } }
        }
    """
    assert graphql_refused(gql(secret, sneaky), scopes.ADMIN)
    named = """query Q { ping }
        mutation M { addJiraSite(name: "s", url: "u", email: "e", token: "t") { errors { code } } }"""
    response = call(secret, "post", "/graphql", data={"query": named, "operationName": "M"})
    assert graphql_refused(response, scopes.ADMIN)
    response = call(secret, "post", "/graphql", data={"query": named, "operationName": "Q"})
    assert response.status_code == 200 and response.json()["data"] == {"ping": "pong"}


def test_a_session_is_judged_by_its_permissions_alone(owner):
    client = Client()
    client.force_login(owner)
    body = client.post(
        "/graphql",
        {"query": 'mutation { pauseProjectSync(projectId: "NOSUCH") { errors { code } } }'},
        "application/json",
    ).json()
    assert body["data"]["pauseProjectSync"]["errors"] == [{"code": "NOT_FOUND"}]


def test_an_operator_without_a_shell_issues_a_token_in_the_admin_and_sees_its_secret_once(owner):
    client = Client()
    client.force_login(owner)
    form = {"name": "boards", "user": owner.id, "scope_names": ["read", "notify"], "lifetime": "30d"}

    page = client.post("/admin/access/apitoken/add/", form)

    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    token = ApiToken.objects.get(name="boards")
    shown = page.content.decode()
    secret = shown.split('id="token-secret"')[0].rsplit('value="', 1)[1].split('"', 1)[0]
    assert secret.startswith(token.prefix + "_") and token.digest == tokens.digest(secret)
    assert token.scopes == ["read", "notify"] and token.expires_at is not None
    assert call(secret).status_code == 200
    # Nowhere else: not on the token's own page, the list, or anything the session kept.
    for url in ("/admin/access/apitoken/", f"/admin/access/apitoken/{token.id}/change/"):
        assert secret not in client.get(url).content.decode()
    assert secret not in repr(dict(client.session))
    assert client.post("/admin/access/apitoken/add/", {**form, "scope_names": []}).status_code == 200
    assert ApiToken.objects.count() == 1  # a form without a scope issues nothing
