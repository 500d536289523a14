"""Test-wide set-up: the suite runs against real PostgreSQL and Redis and says so when they are missing."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

pytest_plugins = ["tests.fixtures.fake_jira", "tests.fixtures.processes"]
pytest_plugins += ["tests.fixtures.receivers"]  # SMTP and HTTP stand-ins for notification channels
pytest_plugins += ["tests.fixtures.browser"]

_START_HINTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
}


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 2):
            return True
    except OSError:
        return False


UNIT_SETTINGS = "tests.settings_unit"  # make test-unit: no server needed, so none is checked


def pytest_configure(config: pytest.Config) -> None:
    if (config.getoption("ds", None) or os.environ.get("DJANGO_SETTINGS_MODULE")) == UNIT_SETTINGS:
        return
    missing = []
    for service, variable, port in (
        ("PostgreSQL", "DATABASE_URL", 5432),
        ("Redis", "REDIS_URL", 6379),
    ):
        url = os.environ[variable]
        if not _reachable(url, port):
            missing.append(
                f"{service} is not reachable at {url}.\n"
                f"  Set {variable} to a running {service}, or start a local one with:\n"
                f"    {_START_HINTS[service]}"
            )
    if missing:
        raise pytest.UsageError(
            "The test suite needs PostgreSQL and Redis (integration tests use real services):\n"
            + "\n".join(missing)
        )
