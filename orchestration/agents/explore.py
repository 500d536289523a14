"""EXPLORE: turn the issue as synced (comments, worklogs, sprint, parent, siblings) into a brief."""

from __future__ import annotations

from typing import Any

from orchestration.agents import AgentContext, AgentTask, PhaseResult

RECENT_COMMENTS = 10


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:.1f} h"


class ExploreAgent:
    name = "explore"

    def run(self, task: AgentTask, ctx: AgentContext) -> PhaseResult:
        issue = task.issue
        spent = sum(w["seconds"] for w in issue["worklogs"])
        questions = [c["text"] for c in issue["comments"] if "?" in c["text"]]
        lines = [
            f"# {issue['key']}: {issue['summary']}",
            "",
            f"- Type {issue['issue_type'] or '?'}, status {issue['status'] or '?'}, "
            f"priority {issue['priority'] or 'none'}, story points {issue['story_points'] or 'none'}",
            f"- Assignee {issue['assignee'] or 'nobody'}, reporter {issue['reporter'] or 'unknown'}",
            f"- Labels: {', '.join(issue['labels']) or 'none'}",
            f"- Time logged: {_hours(spent)} in {len(issue['worklogs'])} worklogs",
        ]
        if issue["sprints"]:
            current = issue["sprints"][-1]
            lines.append(
                f"- Sprint: {current['name']} ({current['state']}); goal: {current['goal'] or 'none'}"
            )
        if issue["parent"]:
            parent = issue["parent"]
            lines.append(f"- Parent: {parent['key']} {parent['summary']} ({parent['status']})")
        if issue["siblings"]:
            siblings = ", ".join(f"{s['key']} ({s['status']})" for s in issue["siblings"])
            lines.append(f"- Siblings: {siblings}")
        lines += ["", "## Description", "", issue["description"] or "(none)"]
        recent = issue["comments"][-RECENT_COMMENTS:]
        if recent:
            lines += ["", f"## Latest comments ({len(recent)} of {len(issue['comments'])})", ""]
            lines += [f"- {c['author'] or 'someone'} ({c['created']}): {c['text']}" for c in recent]
        brief = "\n".join(lines) + "\n"
        outputs: dict[str, Any] = {
            "brief": brief,
            "open_questions": questions,
            "time_spent_seconds": spent,
            "comment_count": len(issue["comments"]),
            "sibling_keys": [s["key"] for s in issue["siblings"]],
            "parent_key": issue["parent"]["key"] if issue["parent"] else None,
        }
        return PhaseResult(
            True,
            outputs,
            artifacts=[{"name": "brief.md", "content": brief}],
            summary=f"brief of {issue['key']} from {len(issue['comments'])} comments",
        )
