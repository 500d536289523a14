"""The change items Jira writes into an issue's changelog, shared by the generator and the mutations.

Jira puts ids in ``from``/``to`` and display text in ``fromString``/``toString``; a few fields (summary,
labels, description) have only the strings. Sprints are comma-separated ids and names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fakejira.adf import plain_text
from fakejira.model import ISSUE_TYPES, PRIORITIES, STATUSES, ChangeItem, Issue, Sprint, User
from fakejira.render import SPRINT_FIELD, STORY_POINTS_FIELD


def status_item(old: str, new: str) -> ChangeItem:
    return ChangeItem("status", "jira", "status", STATUSES[old].id, old, STATUSES[new].id, new)


def resolution_item(resolved: bool) -> ChangeItem:
    """Entering or leaving a done status sets or clears the resolution."""
    if resolved:
        return ChangeItem("resolution", "jira", "resolution", None, None, "10000", "Done")
    return ChangeItem("resolution", "jira", "resolution", "10000", "Done", None, None)


def user_item(name: str, users: Mapping[str, User], old: str | None, new: str | None) -> ChangeItem:
    def label(account_id: str | None) -> str | None:
        user = users.get(account_id) if account_id else None
        return user.display_name if user else None

    return ChangeItem(name, "jira", name, old, label(old), new, label(new))


def sprint_item(sprints: Mapping[int, Sprint], old: list[int], new: list[int]) -> ChangeItem:
    def ids(values: list[int]) -> str | None:
        return ", ".join(str(s) for s in values) or None

    def names(values: list[int]) -> str | None:
        return ", ".join(sprints[s].name for s in values if s in sprints) or None

    return ChangeItem("Sprint", "custom", SPRINT_FIELD, ids(old), names(old), ids(new), names(new))


def _text_item(name: str, old: str | None, new: str | None) -> ChangeItem:
    return ChangeItem(name, "jira", name, None, old, None, new)


def _points(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def field_items(
    issue: Issue, values: Mapping[str, Any], users: Mapping[str, User], sprints: Mapping[int, Sprint]
) -> list[ChangeItem]:
    """Items for applying ``values`` (validated mutation values) to ``issue``, before it changes."""
    items: list[ChangeItem] = []
    for name, new in values.items():
        old: Any = getattr(issue, name, None) if name != "description_text" else None
        if name == "status" and new != old:
            items.append(status_item(old, new))
            was_done = STATUSES[old].category_key == "done"
            if (STATUSES[new].category_key == "done") != was_done:
                items.append(resolution_item(not was_done))
        elif name in ("assignee", "reporter") and new != old:
            items.append(user_item(name, users, old, new))
        elif name == "sprint_ids" and list(new) != list(old):
            items.append(sprint_item(sprints, list(old), list(new)))
        elif name == "summary" and new != old:
            items.append(_text_item("summary", old, new))
        elif name == "labels" and list(new) != list(old):
            items.append(_text_item("labels", " ".join(old) or None, " ".join(new) or None))
        elif name == "priority" and new != old:
            items.append(
                ChangeItem(
                    "priority",
                    "jira",
                    "priority",
                    PRIORITIES.get(old) if old else None,
                    old,
                    PRIORITIES.get(new) if new else None,
                    new,
                )
            )
        elif name == "issuetype" and new != old:
            items.append(
                ChangeItem(
                    "issuetype", "jira", "issuetype", ISSUE_TYPES[old].id, old, ISSUE_TYPES[new].id, new
                )
            )
        elif name == "story_points" and new != old:
            items.append(
                ChangeItem(
                    "Story point estimate",
                    "custom",
                    STORY_POINTS_FIELD,
                    None,
                    _points(old),
                    None,
                    _points(new),
                )
            )
        elif name == "parent_id" and new != old:
            items.append(
                ChangeItem(
                    "IssueParentAssociation",
                    "jira",
                    None,
                    None if old is None else str(old),
                    None,
                    None if new is None else str(new),
                    None,
                )
            )
        elif name == "description_text":
            before = plain_text(issue.description) if issue.description is not None else None
            if before != new:
                items.append(_text_item("description", before, new))
    return items
