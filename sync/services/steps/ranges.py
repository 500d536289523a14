"""A run's issue scope cut into disjoint keyset ranges on the Jira id, read side by side.

One id-cursor chain cannot ask for a page before the previous page's answer names its last id, so a
project of ten pages waits for ten searches one after the other. Cut into ranges, ``(b0, b1]``,
``(b1, b2]`` … ``(bn, ∞)``, each range is its own chain: an issues step searches the next page of every
open range at once and stores each page with that range's cursor, the last id it committed. The bounds
come from the ids reconciliation lists anyway (read at the start of the run, 5,000 a page), cut so each
range holds a whole number of pages; the first range has no lower bound and the last none above, so an
issue created during the run still falls into one of them. Without those ids (the start's reads off or
lost) or for a small scope, a run keeps one range, which is the plain id-cursor chain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class IdRange:
    after: int  # the last id stored from this range (its exclusive lower bound before the first page)
    upto: int | None  # the range's last id, inclusive; None: no upper bound
    done: bool = False

    def jql(self, scope: str) -> str:
        after = f" AND id > {self.after}" if self.after else ""
        upto = f" AND id <= {self.upto}" if self.upto is not None else ""
        return f"{scope}{after}{upto} ORDER BY id ASC"

    def holds(self, issue_id: int) -> bool:
        return issue_id > self.after and (self.upto is None or issue_id <= self.upto)

    def after_page(self, ids: Iterable[int], *, is_last: bool) -> IdRange:
        """Where the range stands once a page holding ``ids`` (of this range) is stored."""
        ids = list(ids)
        after = max([self.after, *ids])
        reached_end = self.upto is not None and after >= self.upto
        return replace(self, after=after, done=not ids or is_last or reached_end)

    def to_cursor(self) -> list[Any]:
        return [self.after, self.upto, self.done]


def plan(live_ids: Sequence[int] | None, *, expected: int | None, page_size: int, most: int) -> list[IdRange]:
    """At most ``most`` ranges over the ``live_ids`` (ascending), each a whole number of pages of them.

    ``expected`` is how many issues the run will read when that is not all of ``live_ids`` (an
    incremental run's window): it decides how many ranges are worth their searches."""
    ids = sorted(set(live_ids or ()))
    pages = math.ceil((len(ids) if expected is None else expected) / page_size)
    count = min(most, pages, len(ids))
    if count < 2:
        return [IdRange(0, None)]
    per = math.ceil(math.ceil(len(ids) / page_size) / count) * page_size
    bounds = ids[per - 1 : len(ids) - 1 : per]
    return [IdRange(low, high) for low, high in zip([0, *bounds], [*bounds, None], strict=True)]


def from_cursor(cursor: dict[str, Any]) -> list[IdRange] | None:
    """The ranges a run committed, or None before its first issues step planned them."""
    if "ranges" in cursor:
        return [
            IdRange(int(after), None if upto is None else int(upto), bool(done))
            for after, upto, done in cursor["ranges"]
        ]
    if cursor.get("last_id"):  # a run that paged one chain before ranges existed
        return [IdRange(int(cursor["last_id"]), None)]
    return None


def to_cursor(ranges: Sequence[IdRange]) -> list[list[Any]]:
    return [r.to_cursor() for r in ranges]
