"""The sprints of the project's scrum boards."""

from __future__ import annotations

from sync.jira.mapping import SprintRecord, map_sprint
from sync.services import store
from sync.services.steps.context import StepContext


def step_sprints(ctx: StepContext) -> None:
    sprints: list[SprintRecord] = []
    for boards in ctx.client.iter_board_pages(ctx.project.key):
        for board in boards:
            if board.get("type") == "kanban":  # kanban boards have no sprints; asking costs a 400
                continue
            for page in ctx.client.iter_sprint_pages(int(board["id"])):
                sprints.extend(
                    map_sprint({**s, "boardId": s.get("originBoardId", board["id"])}) for s in page
                )
    with ctx.batch():
        ctx.counts["sprints_upserted"] += len(
            store.upsert_sprints(ctx.project.site, sprints, board_project=ctx.project)
        )
        ctx.commit(step="issues")
