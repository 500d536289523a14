"""Cutting a run's scope into id ranges: disjoint, covering every id (also ones not seen yet), whole pages."""

from __future__ import annotations

import itertools
import random

import pytest

from sync.services.steps.ranges import IdRange, from_cursor, plan, to_cursor


def _owners(ranges: list[IdRange], issue_id: int) -> list[int]:
    return [n for n, r in enumerate(ranges) if r.holds(issue_id)]


@pytest.mark.parametrize("count", [1000, 1001, 999, 250, 10_000, 301])
def test_ranges_partition_every_id_into_whole_pages(count):
    rng = random.Random(count)
    ids = sorted(rng.sample(range(10_000, 10_000_000), count))

    ranges = plan(ids, expected=None, page_size=100, most=4)

    assert 2 <= len(ranges) <= 4
    assert ranges[0].after == 0 and ranges[-1].upto is None  # unbounded at both ends: new issues fall in
    for below, above in itertools.pairwise(ranges):
        assert below.upto == above.after  # adjacent, no gap, no overlap
    for issue_id in [*ids, 1, ids[-1] + 1, rng.randrange(10_000_000)]:
        assert len(_owners(ranges, issue_id)) == 1
    sizes = [sum(1 for i in ids if r.holds(i)) for r in ranges]
    assert len(set(sizes[:-1])) == 1 and sizes[0] % 100 == 0  # equal whole pages, the rest in the last
    assert 0 < sizes[-1] <= sizes[0]


def test_1000_issues_are_three_rounds_of_pages_with_no_extra_search():
    ids = list(range(1, 1001))
    ranges = plan(ids, expected=None, page_size=100, most=4)
    assert [(r.after, r.upto) for r in ranges] == [(0, 300), (300, 600), (600, 900), (900, None)]


@pytest.mark.parametrize(
    ("live", "expected", "most"),
    [
        (None, None, 4),  # the ids were not read at the start
        ([], None, 4),
        (list(range(1, 101)), None, 4),  # one page
        (list(range(1, 5001)), 80, 4),  # an incremental window of one page
        (list(range(1, 5001)), 0, 4),  # an incremental run whose count failed
        (list(range(1, 5001)), None, 1),  # SYNC_ISSUE_RANGES=1
    ],
)
def test_a_small_scope_or_no_ids_keeps_one_range(live, expected, most):
    assert plan(live, expected=expected, page_size=100, most=most) == [IdRange(0, None)]


def test_an_incremental_window_of_several_pages_is_cut_by_its_count():
    ranges = plan(list(range(1, 5001)), expected=250, page_size=100, most=4)
    assert len(ranges) == 3  # three pages expected: a range for each


def test_a_range_ends_at_its_bound_or_on_an_empty_or_last_page():
    r = IdRange(300, 600)
    assert r.after_page([301, 450], is_last=False) == IdRange(450, 600, done=False)
    assert r.after_page([500, 600], is_last=False).done  # reached its bound: no search past it
    assert r.after_page([], is_last=False).done
    assert IdRange(0, None).after_page([5, 7], is_last=True) == IdRange(7, None, done=True)
    assert r.jql("project = ALPHA") == "project = ALPHA AND id > 300 AND id <= 600 ORDER BY id ASC"
    assert IdRange(0, None).jql("project = ALPHA") == "project = ALPHA ORDER BY id ASC"


def test_the_cursor_round_trips_and_a_run_from_before_ranges_continues_its_chain():
    ranges = [IdRange(120, 300, done=True), IdRange(300, None)]
    assert from_cursor({"ranges": to_cursor(ranges)}) == ranges
    assert from_cursor({"last_id": 4711}) == [IdRange(4711, None)]
    assert from_cursor({"last_id": 0}) is None and from_cursor({}) is None
