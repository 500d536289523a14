"""The only writes to Jira (orchestration's DOCUMENT phase): a comment and a transition."""

from __future__ import annotations

from typing import Any

from sync.jira.adf import text_to_adf
from sync.jira.errors import JiraErrorCode, make_error
from sync.jira.shapes import expect_dict, expect_list
from sync.jira.transport import Transport


class WriteCalls(Transport):
    def add_comment(self, issue_id: str, text: str) -> dict[str, Any]:
        """Post a plain-text comment (ADF on Cloud, wiki text on Data Center); returns Jira's comment."""
        body: Any = text if self.api == "2" else text_to_adf(text)
        path = f"/rest/api/{self.api}/issue/{issue_id}/comment"
        return expect_dict(self._post(path, {"body": body}), "comment")

    def transition_issue(self, issue_id: str, to_status: str) -> str:
        """Move the issue to the status named ``to_status`` (or the transition of that name)."""
        path = f"/rest/api/{self.api}/issue/{issue_id}/transitions"
        transitions = expect_list(
            expect_dict(self._get(path), "transitions").get("transitions"), "transitions"
        )
        wanted = to_status.strip().lower()
        for transition in transitions:
            names = {
                str(transition.get("name", "")).lower(),
                str((transition.get("to") or {}).get("name", "")).lower(),
            }
            if wanted in names:
                self._post(path, {"transition": {"id": str(transition["id"])}})
                return str((transition.get("to") or {}).get("name") or transition.get("name"))
        available = ", ".join(str(t.get("name")) for t in transitions)
        raise make_error(
            JiraErrorCode.BAD_REQUEST,
            endpoint="transitions",
            detail=f"no transition to '{to_status}' ({available})",
        )
