"""Which Jira sites the caller may see. A token may be limited to sites, and so may a user who is not staff;
every read and every act filters by ``visible_site_ids()``: None means every site (staff, a session
without limits, a command, a task). Another tenant's object is NOT_FOUND, never FORBIDDEN, so nothing says it
exists. The rule lives with the sites (sync registers it at start-up); core only carries it, so the read
cache and every app can apply it without importing sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Resolver = Callable[[], frozenset[int] | None]
_resolvers: list[Resolver] = []


def register(resolver: Resolver) -> None:
    _resolvers[:] = [resolver]


def visible_site_ids() -> frozenset[int] | None:
    return _resolvers[0]() if _resolvers else None


def visible(queryset: Any, site_field: str = "site_id") -> Any:
    """``queryset`` narrowed to the caller's sites (``site_field`` names the row's site id)."""
    sites = visible_site_ids()
    return queryset if sites is None else queryset.filter(**{f"{site_field}__in": sites})


def cache_part() -> str:
    """What the read cache adds to its keys, so one tenant's cached page is never served to another."""
    sites = visible_site_ids()
    return "*" if sites is None else ",".join(str(s) for s in sorted(sites))
