"""The fake Jira's own Atlassian Document Format: documents from text, and text from documents.

Written apart from the product's reader (``sync.jira.adf``) on purpose: the expected text of every
end-to-end comparison comes from here, so a bug in the product's reader cannot agree with itself.
The text follows the rules the product documents: one line per block, ``- `` and ``N. `` list markers with
nested lists indented by two spaces, a mention or emoji as its visible text, a card as its URL, a rule as
``---``, table cells joined by `` | ``, media dropped, unknown nodes as their children's text.
"""

from __future__ import annotations

from typing import Any

Node = dict[str, Any]


def document(text: str) -> Node:
    """One paragraph per non-empty line of ``text``."""
    lines = [line for line in text.split("\n") if line]
    paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in lines]
    return {"type": "doc", "version": 1, "content": paragraphs}


def plain_text(doc: Any) -> str:
    """What a reader sees of ``doc``; a string (wiki markup, API v2) is its own text."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    lines: list[str] = []
    _Writer(lines).block(doc, depth=0)
    return "\n".join(lines).strip("\n")


_INLINE_TEXT = {
    "mention": lambda a: a.get("text") or "@" + str(a.get("id", "")),
    "emoji": lambda a: a.get("text") or a.get("shortName", ""),
    "inlineCard": lambda a: a.get("url", ""),
    "status": lambda a: a.get("text", ""),
    "date": lambda a: a.get("timestamp", ""),
}
_INLINE = {"text", "hardBreak", "placeholder", *_INLINE_TEXT}


class _Writer:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def block(self, node: Node, depth: int) -> None:
        kind, children = node.get("type"), _children(node)
        pad = "  " * depth
        if kind in ("paragraph", "heading"):
            self.lines.append(pad + _text(children))
        elif kind == "codeBlock":
            self.lines.extend(pad + line for line in _text(children).split("\n"))
        elif kind == "rule":
            self.lines.append(pad + "---")
        elif kind in ("bulletList", "orderedList"):
            first = int((node.get("attrs") or {}).get("order") or 1)
            for offset, item in enumerate(children):
                marker = "- " if kind == "bulletList" else f"{first + offset}. "
                self.list_item(item, depth, marker)
        elif kind == "table":
            for row in children:
                cells = []
                for cell in _children(row):
                    inner: list[str] = []
                    _Writer(inner).blocks(_children(cell), 0)
                    cells.append(" ".join(inner).strip())
                self.lines.append(pad + " | ".join(cells))
        elif kind in ("media", "mediaGroup", "mediaSingle"):
            return
        elif kind in _INLINE:
            self.lines.append(pad + _text([node]))
        else:
            self.blocks(children, depth)

    def blocks(self, nodes: list[Node], depth: int) -> None:
        for child in nodes:
            self.block(child, depth)

    def list_item(self, item: Node, depth: int, marker: str) -> None:
        start = len(self.lines)
        self.blocks(_children(item), depth + 1)
        if len(self.lines) > start:  # the item's first line carries the marker in place of its indent
            pad = "  " * (depth + 1)
            first = self.lines[start]
            self.lines[start] = (
                "  " * depth + marker + (first[len(pad) :] if first.startswith(pad) else first)
            )


def _children(node: Node) -> list[Node]:
    return [child for child in node.get("content") or [] if isinstance(child, dict)]


def _text(nodes: list[Node]) -> str:
    out = []
    for node in nodes:
        kind, attrs = node.get("type"), node.get("attrs") or {}
        if kind == "text":
            out.append(str(node.get("text", "")))
        elif kind == "hardBreak":
            out.append("\n")
        elif kind in _INLINE_TEXT:
            out.append(str(_INLINE_TEXT[kind](attrs)))
        else:
            out.append(_text(_children(node)))
    return "".join(out)
