"""One synced world for every API test: the fake Jira with a planted token, synced by a real Celery worker.

The data is committed once per package (syncing is the slow part) and API tests run against it in autocommit,
so mutations really enqueue runs that the worker really performs. Every response body an API test receives
is recorded and searched for the planted token and its ciphertext.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import setup_databases, teardown_databases

from access.tokens import token_authenticate
from fakejira import FakeDataConfig, FakeJira
from sync.models import JiraSite, Project
from sync.tenancy import user_site_ids
from tests.fixtures.processes import Processes
from tests.fixtures.sync import assert_same, register, sync_and_wait
from tests.fixtures.tokens import token_for

PLANTED_TOKEN = "PLANTED-jira-token-0d9c8b7a-must-never-leave-the-database"


@dataclass
class World:
    fake: FakeJira
    site: JiraSite
    alpha: Project
    beta: Project
    ciphertext: str
    processes: Processes
    responses: list[bytes] = field(default_factory=list)


class RecordingClient(Client):
    """A test client that keeps every response body for the never-exposed checks."""

    def __init__(self, world: World, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.world = world

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        self.world.responses.append(response.getvalue())
        return response

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        return self.post(
            "/graphql",
            json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            HTTP_ACCEPT="application/json",
        )


@pytest.fixture(scope="package")
def _test_database(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django creates the test database only for sessions holding ``django_db`` tests; these tests
    run in autocommit (no such mark), so when they run alone they create it themselves."""
    if connection.settings_dict["NAME"].startswith("test_"):
        yield
        return
    with django_db_blocker.unblock():
        created = setup_databases(verbosity=0, interactive=False, aliases={"default": {}})
    yield
    with django_db_blocker.unblock():
        teardown_databases(created, verbosity=0)


@pytest.fixture(scope="package")
def world(_test_database: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[World]:
    config = FakeDataConfig(
        seed=5,
        projects={"ALPHA": 120, "BETA": 12},
        api_token=PLANTED_TOKEN,
        heavy_comment_ratio=0.03,
        worklog_feed_lag_seconds=0,
    )
    with FakeJira(config=config) as fake, django_db_blocker.unblock():
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
        processes = Processes(tmp_path_factory.mktemp("api-celery"))
        try:
            processes.worker(SYNC_LEASE_SECONDS="30")
            alpha, beta = register(fake, ["ALPHA", "BETA"], name="planted")
            for project in (alpha, beta):
                run = sync_and_wait(project, full=True, timeout=120)
                assert run.status == "SUCCEEDED", run.error_message
            assert_same(alpha, fake.data.export("ALPHA"))
            with connection.cursor() as cursor:
                cursor.execute("SELECT api_token FROM sync_jirasite WHERE id = %s", [alpha.site_id])
                (ciphertext,) = cursor.fetchone()
            yield World(fake, alpha.site, alpha, beta, ciphertext, processes)
        finally:
            processes.stop_all()
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _db_in_autocommit(world: World, django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():
        cache.clear()  # throttle counters
        yield


@pytest.fixture(autouse=True)
def _no_secret_in_any_response(world: World) -> Iterator[None]:
    first = len(world.responses)
    yield
    for body in world.responses[first:]:
        assert PLANTED_TOKEN.encode() not in body, body[:500]
        assert world.ciphertext.encode() not in body, body[:500]


def _user(name: str, *, staff: bool = False, operator: bool = False) -> User:
    user, _ = User.objects.get_or_create(username=name, defaults={"is_staff": staff})
    if operator:
        user.user_permissions.add(
            Permission.objects.get(codename="operate_sync", content_type__app_label="sync")
        )
    return user


def _token_client(world: World, user: User) -> RecordingClient:
    secret = token_for(user)
    # A token's first use is recorded (once a minute) and its owner's granted sites are read into the cache:
    # both spent here, so the tests that count queries compare requests alike.
    token_authenticate(secret)
    user_site_ids(user.pk)
    return RecordingClient(world, HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def anon(world: World) -> RecordingClient:
    return RecordingClient(world)


@pytest.fixture
def reader(world: World) -> RecordingClient:
    """Authenticated, no permission to operate syncs."""
    return _token_client(world, _user("reader"))


@pytest.fixture
def operator(world: World) -> RecordingClient:
    """Holds sync.operate_sync (not staff)."""
    return _token_client(world, _user("operator", operator=True))


@pytest.fixture
def staff_session(world: World) -> RecordingClient:
    client = RecordingClient(world)
    client.force_login(_user("staffer", staff=True))
    return client
