"""The sprints of the project's scrum boards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync.jira.client import JiraClient
from sync.jira.mapping import map_sprint
from sync.services import store
from sync.services.steps import prefetch
from sync.services.steps.context import StepContext


def read_sprints(
    client: JiraClient, project_key: str, between_pages: Callable[[], None]
) -> list[dict[str, Any]]:
    """Every sprint of the project's boards, each naming the board it comes from."""
    sprints: list[dict[str, Any]] = []
    for boards in client.iter_board_pages(project_key):
        for board in boards:
            if board.get("type") == "kanban":  # kanban boards have no sprints; asking costs a 400
                continue
            for page in client.iter_sprint_pages(int(board["id"])):
                sprints.extend({**s, "boardId": s.get("originBoardId", board["id"])} for s in page)
                between_pages()
    return sprints


def step_sprints(ctx: StepContext) -> None:
    payloads = prefetch.take(ctx, prefetch.SPRINTS)
    if payloads is None:
        payloads = read_sprints(ctx.client, ctx.project.key, ctx.heartbeat)
    sprints = [map_sprint(s) for s in payloads]
    with ctx.batch():
        prefetch.drop_on_commit(ctx, prefetch.SPRINTS)
        ctx.counts["sprints_upserted"] += len(
            store.upsert_sprints(ctx.project.site, sprints, board_project=ctx.project)
        )
        ctx.commit(step="issues")
