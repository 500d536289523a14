"""ADF documents (v3 rich text) render as readable plain text; the unexpected degrades gracefully."""

from __future__ import annotations

from typing import Any

import pytest

from sync.jira.adf import adf_to_text, text_to_adf


def doc(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(content)}


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": value, **extra}


def para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def item(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "listItem", "content": list(content)}


@pytest.mark.parametrize(
    ("value", "expected"), [(None, ""), ("h1. wiki *markup*", "h1. wiki *markup*"), (42, "")]
)
def test_none_strings_and_junk(value, expected):
    assert adf_to_text(value) == expected


def test_paragraphs_are_lines_and_marks_are_dropped():
    document = doc(para(text("Hello "), text("world", marks=[{"type": "strong"}])), para(text("Second")))
    assert adf_to_text(document) == "Hello world\nSecond"


def test_headings_render_their_text():
    document = doc(
        {"type": "heading", "attrs": {"level": 2}, "content": [text("Release notes")]},
        para(text("Body")),
    )
    assert adf_to_text(document) == "Release notes\nBody"


def test_nested_lists_are_indented_and_ordered_lists_numbered():
    document = doc(
        {
            "type": "bulletList",
            "content": [
                item(para(text("one"))),
                item(
                    para(text("two")),
                    {
                        "type": "orderedList",
                        "attrs": {"order": 3},
                        "content": [item(para(text("deep a"))), item(para(text("deep b")))],
                    },
                ),
            ],
        }
    )
    assert adf_to_text(document) == "- one\n- two\n  3. deep a\n  4. deep b"


def test_mentions_and_emoji_render_as_visible_text():
    document = doc(
        para(
            text("Ping "),
            {"type": "mention", "attrs": {"id": "557058:abc", "text": "@Ada Lovelace"}},
            text(" "),
            {"type": "emoji", "attrs": {"shortName": ":tada:", "text": "🎉"}},
            text(" "),
            {"type": "emoji", "attrs": {"shortName": ":custom:"}},
            text(" "),
            {"type": "mention", "attrs": {"id": "712020:def"}},
        )
    )
    assert adf_to_text(document) == "Ping @Ada Lovelace 🎉 :custom: @712020:def"


def test_code_blocks_keep_their_lines():
    document = doc({"type": "codeBlock", "attrs": {"language": "python"}, "content": [text("a = 1\nb = 2")]})
    assert adf_to_text(document) == "a = 1\nb = 2"


def test_tables_join_cells_with_pipes():
    def cell(kind: str, value: str) -> dict[str, Any]:
        return {"type": kind, "content": [para(text(value))]}

    document = doc(
        {
            "type": "table",
            "content": [
                {
                    "type": "tableRow",
                    "content": [cell("tableHeader", "Key"), cell("tableHeader", "Status")],
                },
                {
                    "type": "tableRow",
                    "content": [cell("tableCell", "ALPHA-1"), cell("tableCell", "Done")],
                },
            ],
        }
    )
    assert adf_to_text(document) == "Key | Status\nALPHA-1 | Done"


def test_rules_links_breaks_and_media():
    document = doc(
        para(text("before"), {"type": "hardBreak"}, text("after")),
        {"type": "rule"},
        para({"type": "inlineCard", "attrs": {"url": "https://example.com/x"}}),
        {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "m1"}}]},
    )
    assert adf_to_text(document) == "before\nafter\n---\nhttps://example.com/x"


def test_unknown_nodes_render_their_children():
    document = doc(
        {"type": "futureBlock", "content": [para(text("inside a new block"))]},
        para({"type": "futureInline", "content": [text("inline child")]}),
        {"type": "panel", "attrs": {"panelType": "info"}, "content": [para(text("panel text"))]},
    )
    assert adf_to_text(document) == "inside a new block\ninline child\npanel text"


def test_malformed_children_are_skipped():
    document = {"type": "doc", "content": ["junk", None, para(text("kept")), {"content": None}]}
    assert adf_to_text(document) == "kept"


def test_text_to_adf_round_trips_lines():
    assert adf_to_text(text_to_adf("one\n\ntwo")) == "one\ntwo"
