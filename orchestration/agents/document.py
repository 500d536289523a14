"""DOCUMENT: a Markdown report of the run; when enabled, posted to the issue as a Jira comment and the
issue moved to a status (``ORCHESTRATION_JIRA_COMMENT``, ``ORCHESTRATION_JIRA_TRANSITION``; both off).

The comment carries a marker with the phase's idempotency key; a retry finds it and does not post twice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from orchestration.agents import (
    AgentContext,
    AgentTask,
    PermanentAgentError,
    PhaseResult,
    TransientAgentError,
)
from orchestration.models import Orchestration
from sync.jira.adf import adf_to_text
from sync.jira.errors import JiraError
from sync.services.sites import site_client


def report_markdown(task: AgentTask) -> str:
    issue = task.issue
    lines = [
        f"# Orchestration report: {issue['key']} {issue['summary']}",
        "",
        "| Phase | Run | Result |",
        "|---|---|---|",
    ]
    for execution in task.history:
        output = execution["output"] or {}
        junit = output.get("junit")
        detail = f"{junit['tests']} tests, {junit['failed']} failed" if junit else ""
        if "exit_code" in output and not junit:
            detail = f"exit code {output['exit_code']}"
        lines.append(
            f"| {execution['phase']} | {execution['iteration']} | {execution['state']} {detail} |".rstrip()
        )
    plan = task.previous.get("PLAN", {})
    if plan.get("acceptance_criteria"):
        lines += ["", "## Acceptance criteria", ""] + [f"- {c}" for c in plan["acceptance_criteria"]]
    fixes = sum(1 for e in task.history if e["phase"] == "FIX")
    lines += ["", f"Fix rounds: {fixes}. Orchestration {task.orchestration_id}."]
    return "\n".join(lines) + "\n"


class DocumentAgent:
    name = "document"

    def run(self, task: AgentTask, ctx: AgentContext) -> PhaseResult:
        report = report_markdown(task)
        outputs: dict[str, Any] = {"report": report, "jira_comment_id": None, "jira_transition": None}
        if settings.ORCHESTRATION_JIRA_COMMENT or settings.ORCHESTRATION_JIRA_TRANSITION:
            self._publish(task, report, outputs)
        return PhaseResult(
            True, outputs, artifacts=[{"name": "report.md", "content": report}], summary="report written"
        )

    def _publish(self, task: AgentTask, report: str, outputs: dict[str, Any]) -> None:
        orchestration = Orchestration.objects.select_related("issue__site").get(id=task.orchestration_id)
        issue = orchestration.issue
        marker = f"[jiraplus {task.idempotency_key}]"
        try:
            with site_client(site=issue.site) as client:
                if settings.ORCHESTRATION_JIRA_COMMENT:
                    existing = [
                        c
                        for page in client.iter_comment_pages(str(issue.jira_id))
                        for c in page
                        if marker in adf_to_text(c.get("body"))
                    ]
                    posted = (
                        existing[0]
                        if existing
                        else client.add_comment(str(issue.jira_id), f"{report}\n{marker}")
                    )
                    outputs["jira_comment_id"] = str(posted.get("id"))
                target = settings.ORCHESTRATION_JIRA_TRANSITION
                if target:
                    fields = client.get_issue(str(issue.jira_id), fields=["status"]).get("fields") or {}
                    current = str((fields.get("status") or {}).get("name", ""))
                    # Already there (a retry, or a person moved it): nothing to do.
                    done = current.lower() == target.strip().lower()
                    outputs["jira_transition"] = (
                        current if done else client.transition_issue(str(issue.jira_id), target)
                    )
        except JiraError as error:
            if error.retryable:
                raise TransientAgentError(
                    f"{error.code}: {error.message}", code=f"JIRA_{error.code}"
                ) from None
            raise PermanentAgentError(f"{error.code}: {error.message}", code=f"JIRA_{error.code}") from None
