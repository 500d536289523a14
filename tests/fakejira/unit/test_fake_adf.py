"""The fake's ADF is written apart from the product's reader; on every document kind the two must agree,
or one of them reads Jira's format wrongly (and an end-to-end comparison would no longer catch it)."""

from __future__ import annotations

from typing import Any

import pytest

from fakejira.adf import document, plain_text
from sync.jira.adf import adf_to_text


def _p(*inline: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def _t(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def _list(kind: str, *items: list[dict[str, Any]], order: int | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": kind, "content": [{"type": "listItem", "content": i} for i in items]}
    if order is not None:
        node["attrs"] = {"order": order}
    return node


DOCUMENTS = {
    "paragraphs": (document("one\n\ntwo"), "one\ntwo"),
    "mention and emoji": (
        _doc(
            _p(
                _t("hi "),
                {"type": "mention", "attrs": {"id": "a1", "text": "@Ann"}},
                {"type": "emoji", "attrs": {"shortName": ":x:"}},
            )
        ),
        "hi @Ann:x:",
    ),
    "nested lists": (
        _doc(_list("bulletList", [_p(_t("a")), _list("orderedList", [_p(_t("b"))], [_p(_t("c"))], order=3)])),
        "- a\n  3. b\n  4. c",
    ),
    "code, rule, card": (
        _doc(
            {"type": "codeBlock", "content": [_t("x = 1\ny = 2")]},
            {"type": "rule"},
            _p({"type": "inlineCard", "attrs": {"url": "https://example.com"}}),
        ),
        "x = 1\ny = 2\n---\nhttps://example.com",
    ),
    "table": (
        _doc(
            {
                "type": "table",
                "content": [
                    {
                        "type": "tableRow",
                        "content": [
                            {"type": "tableCell", "content": [_p(_t("k"))]},
                            {"type": "tableCell", "content": [_p(_t("v"))]},
                        ],
                    }
                ],
            }
        ),
        "k | v",
    ),
    "media and unknown nodes": (
        _doc(
            {"type": "mediaSingle", "content": [{"type": "media"}]},
            {"type": "futureBlock", "content": [_p(_t("kept"))]},
        ),
        "kept",
    ),
    "wiki markup (API v2)": ("h1. Title", "h1. Title"),
    "nothing": (None, ""),
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_the_fake_and_the_product_read_every_document_kind_alike(name: str) -> None:
    doc, expected = DOCUMENTS[name]
    assert plain_text(doc) == expected
    assert adf_to_text(doc) == expected
