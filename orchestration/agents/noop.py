"""An agent that does nothing and succeeds at once: for dry runs and for measuring the engine itself."""

from __future__ import annotations

from orchestration.agents import AgentContext, AgentTask, PhaseResult


class NoopAgent:
    name = "noop"

    def run(self, task: AgentTask, ctx: AgentContext) -> PhaseResult:
        return PhaseResult(True, {"noop": True}, summary=f"{task.phase} skipped (noop agent)")
