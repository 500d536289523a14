"""What an issue payload embeds only in part decides its overflow reads; it is read off the payload as
``map_issue`` counts it, on the lanes' threads, before the page is mapped."""

from __future__ import annotations

from sync.jira.mapping import embedded_in_part, map_issue


def payload(*, comments: tuple[int, int], worklogs: tuple[int, int], histories: tuple[int, int]) -> dict:
    def items(n: int) -> list[dict]:
        when = "2026-01-01T00:00:00.000+0000"
        return [
            {"id": str(i), "created": when, "updated": when, "started": when, "items": []} for i in range(n)
        ]

    return {
        "id": "10001",
        "key": "ALPHA-1",
        "fields": {
            "summary": "s",
            "created": "2026-01-01T00:00:00.000+0000",
            "updated": "2026-01-01T00:00:00.000+0000",
            "comment": {"comments": items(comments[0]), "total": comments[1]},
            "worklog": {"worklogs": items(worklogs[0]), "total": worklogs[1]},
        },
        "changelog": {"histories": items(histories[0]), "total": histories[1]},
    }


def test_the_parts_embedded_in_part_are_those_map_issue_finds_incomplete():
    cases = [
        payload(comments=(20, 45), worklogs=(3, 3), histories=(0, 0)),
        payload(comments=(2, 2), worklogs=(20, 21), histories=(100, 180)),
        payload(comments=(20, 20), worklogs=(0, 0), histories=(1, 1)),
    ]
    for case in cases:
        record = map_issue(case)
        expected = (
            record.comment_total if len(record.comments) < record.comment_total else None,
            record.worklog_total if len(record.worklogs) < record.worklog_total else None,
            record.history_total if record.history_count < record.history_total else None,
        )
        assert embedded_in_part(case) == (None if expected == (None, None, None) else expected)
    assert embedded_in_part(cases[0]) == (45, None, None)
    assert embedded_in_part(cases[1]) == (None, 21, 180)
    assert embedded_in_part(cases[2]) is None


def test_a_malformed_payload_has_nothing_to_read_in_part():
    broken = payload(comments=(20, 45), worklogs=(0, 0), histories=(0, 0))
    broken["fields"]["comment"] = "not an object"
    assert embedded_in_part(broken) is None
    assert embedded_in_part({"id": "1"}) is None
    assert embedded_in_part(["not", "an", "issue"]) is None
