"""The site's users, so issues, comments and worklogs can point at them by row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync.jira.client import JiraClient
from sync.jira.mapping import map_user
from sync.services import store
from sync.services.steps import prefetch
from sync.services.steps.context import StepContext


def read_users(client: JiraClient, between_pages: Callable[[], None]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in client.iter_user_pages():
        found.extend(page)
        between_pages()
    return found


def step_users(ctx: StepContext) -> None:
    payloads = prefetch.take(ctx, prefetch.USERS)
    if payloads is None:
        payloads = read_users(ctx.client, ctx.heartbeat)
    users = [u for u in (map_user(p) for p in payloads) if u]
    with ctx.batch():
        prefetch.drop_on_commit(ctx, prefetch.USERS)
        ctx.counts["users_upserted"] += len(store.upsert_users(ctx.project.site, users, with_email=True))
        ctx.commit(step="sprints")
