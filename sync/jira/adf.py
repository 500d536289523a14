"""Atlassian Document Format (ADF) to plain text, and plain text to ADF (comments the client posts).

Rendering rules: block nodes are separated by a newline, list items are prefixed with ``- `` or ``N. ``
(nested lists indented by two spaces), mentions and emoji render as their visible text, links and cards as
their text or URL, a rule as ``---``, table cells are joined by `` | ``. Unknown nodes render their children,
so a new node type degrades to its text instead of failing.
"""

from __future__ import annotations

from typing import Any

_BLOCKS_WITH_CHILDREN = {
    "doc",
    "blockquote",
    "panel",
    "expand",
    "nestedExpand",
    "layoutSection",
    "layoutColumn",
    "decisionList",
    "taskList",
}


def adf_to_text(doc: Any) -> str:
    """Plain text of an ADF document; a string (v2 wiki markup) passes through, None gives ''."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    return "\n".join(line for line in _blocks(doc, indent="")).strip("\n")


def _blocks(node: dict[str, Any], indent: str) -> list[str]:
    kind = node.get("type")
    content = [child for child in node.get("content") or [] if isinstance(child, dict)]
    if kind in ("paragraph", "heading"):
        return [indent + _inline(content)]
    if kind == "codeBlock":
        return [indent + line for line in _inline(content).split("\n")]
    if kind == "rule":
        return [indent + "---"]
    if kind in ("bulletList", "orderedList"):
        lines: list[str] = []
        start = int((node.get("attrs") or {}).get("order", 1) or 1)
        for number, item in enumerate(content, start=start):
            marker = "- " if kind == "bulletList" else f"{number}. "
            item_lines = _children_blocks(item, indent + "  ")
            if item_lines:
                first = (
                    item_lines[0][len(indent) + 2 :]
                    if item_lines[0].startswith(indent + "  ")
                    else item_lines[0]
                )
                lines.append(indent + marker + first)
                lines.extend(item_lines[1:])
        return lines
    if kind == "table":
        rows = []
        for row in content:
            cells = [" ".join(_children_blocks(cell, "")).strip() for cell in row.get("content") or []]
            rows.append(indent + " | ".join(cells))
        return rows
    if kind in ("mediaSingle", "mediaGroup", "media"):
        return []
    if kind in _BLOCKS_WITH_CHILDREN or not _is_inline(kind):
        return _children_blocks(node, indent)
    return [indent + _inline([node])]


def _children_blocks(node: dict[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for child in node.get("content") or []:
        if isinstance(child, dict):
            lines.extend(
                _blocks(child, indent) if not _is_inline(child.get("type")) else [indent + _inline([child])]
            )
    return lines


_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status", "placeholder"}


def _is_inline(kind: Any) -> bool:
    return kind in _INLINE


def _inline(nodes: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for node in nodes:
        kind = node.get("type")
        attrs = node.get("attrs") or {}
        if kind == "text":
            parts.append(str(node.get("text", "")))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind == "mention":
            parts.append(str(attrs.get("text") or "@" + str(attrs.get("id", ""))))
        elif kind == "emoji":
            parts.append(str(attrs.get("text") or attrs.get("shortName", "")))
        elif kind == "inlineCard":
            parts.append(str(attrs.get("url", "")))
        elif kind == "status":
            parts.append(str(attrs.get("text", "")))
        elif kind == "date":
            parts.append(str(attrs.get("timestamp", "")))
        elif node.get("content"):
            parts.append(_inline([c for c in node["content"] if isinstance(c, dict)]))
    return "".join(parts)


def text_to_adf(text: str) -> dict[str, Any]:
    """An ADF document with one paragraph per line of ``text`` (empty lines dropped)."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}]}
            for line in text.split("\n")
            if line
        ],
    }
