"""Which issue fields the sync asks Jira for, and how a site's custom sprint and story-point fields are
found (their ids differ from site to site)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Fields the sync stores: asking Jira for exactly these keeps pages small (request economy).
BASE_FIELDS = (
    "summary",
    "status",
    "priority",
    "issuetype",
    "assignee",
    "reporter",
    "parent",
    "labels",
    "created",
    "updated",
    "resolutiondate",
    "description",
    "comment",
    "worklog",
    "project",
)
MODELLED_FIELDS = frozenset(BASE_FIELDS)


def search_fields(*, sprint_field: str, story_points_field: str) -> list[str]:
    return [*BASE_FIELDS, *(f for f in (sprint_field, story_points_field) if f)]


SPRINT_FIELD_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"
_STORY_POINT_NAMES = {"story point estimate", "story points"}


def discover_custom_fields(fields: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """The site's sprint and story-point field ids (they differ between sites), '' when absent."""
    sprint = points = ""
    for item in fields:
        schema = item.get("schema") or {}
        if not sprint and schema.get("custom") == SPRINT_FIELD_SCHEMA:
            sprint = str(item.get("id", ""))
        if not points and str(item.get("name", "")).strip().lower() in _STORY_POINT_NAMES:
            points = str(item.get("id", ""))
    return sprint, points
