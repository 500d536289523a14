"""Reading a GraphQL selection, so a list prefetches only what the query asks for."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import graphene
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

from sync import selectors

# --- Reading a selection (only what is asked for is prefetched) -------------------------------------


def _children(node: Any, info: graphene.ResolveInfo) -> Iterator[FieldNode]:
    if node.selection_set is None:
        return
    for selection in node.selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _children(selection, info)
        elif isinstance(selection, FragmentSpreadNode):
            yield from _children(info.fragments[selection.name.value], info)


def _selected(info: graphene.ResolveInfo, path: Sequence[str]) -> set[str]:
    """Field names requested below ``path`` of the field being resolved."""
    nodes: list[Any] = list(info.field_nodes)
    for name in path:
        nodes = [child for node in nodes for child in _children(node, info) if child.name.value == name]
    return {child.name.value for node in nodes for child in _children(node, info)}


def includes(info: graphene.ResolveInfo, path: Sequence[str]) -> selectors.IssueIncludes:
    fields = _selected(info, path)
    return selectors.IssueIncludes(
        people=bool({"assignee", "reporter"} & fields),
        sprints=bool({"sprint", "sprints"} & fields),
        comments="comments" in fields,
        worklogs="worklogs" in fields,
        parent="parent" in fields,
        comment_adf="bodyAdf" in _selected(info, [*path, "comments"]),
        history=bool({"history", "timeInStatus"} & fields),
    )


def parents(info: graphene.ResolveInfo, path: Sequence[str]) -> selectors.IssueIncludes | None:
    """What to load of the parents, or None when ``parent`` is not asked for."""
    return includes(info, [*path, "parent"]) if includes(info, path).parent else None
