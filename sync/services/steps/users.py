"""The site's users, so issues, comments and worklogs can point at them by row."""

from __future__ import annotations

from sync.jira.mapping import map_user
from sync.services import store
from sync.services.steps.context import StepContext


def step_users(ctx: StepContext) -> None:
    users = [u for page in ctx.client.iter_user_pages() for u in (map_user(p) for p in page) if u]
    with ctx.batch():
        ctx.counts["users_upserted"] += len(store.upsert_users(ctx.project.site, users, with_email=True))
        ctx.commit(step="sprints")
