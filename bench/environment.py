"""What every benchmark does first: point Django at its own database and Redis, empty both, migrate."""

from __future__ import annotations

import os
import subprocess

BENCH_KEY = "YmVuY2gtb25seS1rZXktYmVuY2gtb25seS1rZXktMzI="


def prepare(database_url: str, redis_url: str, *, empty: bool = True, **env: str) -> None:
    """Set the environment (children inherit it), create the database if needed, set Django up on it,
    migrate it and, unless ``empty`` is false, empty it and the Redis database. Call before importing
    models."""
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        JIRAPLUS_SECRET_KEYS=os.environ.get("JIRAPLUS_SECRET_KEYS", BENCH_KEY),
        DJANGO_SETTINGS_MODULE="jiraplus.settings",
        # No rate limit unless the caller sets one (JIRA_SITE_RATE=5 to check a run keeps to it).
        JIRA_SITE_RATE=os.environ.get("JIRA_SITE_RATE", "1000"),
        JIRA_SITE_BURST=os.environ.get("JIRA_SITE_BURST", "1000"),
        JIRAPLUS_ALLOW_PRIVATE_JIRA="true",  # the fake Jira listens on loopback
        **env,
    )
    database = database_url.rsplit("/", 1)[1]
    subprocess.run(
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", database], capture_output=True, check=False
    )

    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if empty:
        call_command("flush", "--noinput", verbosity=0)
        redis.Redis.from_url(redis_url).flushdb()
