"""PLAN: a deterministic plan derived from the EXPLORE brief and the issue's description."""

from __future__ import annotations

import re

from orchestration.agents import AgentContext, AgentTask, PermanentAgentError, PhaseResult

_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)")


class PlannerAgent:
    name = "planner"

    def run(self, task: AgentTask, ctx: AgentContext) -> PhaseResult:
        explored = task.previous.get("EXPLORE")
        if explored is None or "brief" not in explored:
            raise PermanentAgentError("PLAN needs EXPLORE's brief", code="MISSING_INPUT")
        issue = task.issue
        criteria = [
            m.group(1) for line in (issue["description"] or "").splitlines() if (m := _BULLET.match(line))
        ]
        if not criteria:
            criteria = [f"{issue['summary']} works as described"]
        steps = [f"Read the brief of {issue['key']} and the code it touches"]
        steps += [f"Implement: {c}" for c in criteria]
        steps += [f"Answer open question: {q}" for q in explored.get("open_questions", [])[:5]]
        steps += ["Run the test suite (TEST), fix failures (FIX)", "Write the report (DOCUMENT)"]
        markdown = "\n".join(
            [f"# Plan for {issue['key']}", "", "## Acceptance criteria", ""]
            + [f"- [ ] {c}" for c in criteria]
            + ["", "## Steps", ""]
            + [f"{n}. {s}" for n, s in enumerate(steps, 1)]
        )
        return PhaseResult(
            True,
            {"acceptance_criteria": criteria, "steps": steps, "plan_markdown": markdown},
            artifacts=[{"name": "plan.md", "content": markdown}],
            summary=f"{len(steps)} steps, {len(criteria)} acceptance criteria",
        )
