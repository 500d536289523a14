"""Sync's rule for which sites a caller sees (registered with core.tenancy at start-up): the token's site
list, when it has one, and, for a user who is not staff, the sites of their SiteAccess rows, when they have
any. Both apply together (a limited token of a limited user sees what both allow). Worked out once per
request, after authentication, and kept on it."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

from core.context import current_request

_KEPT = "_jiraplus_visible_sites"


def visible_site_ids() -> frozenset[int] | None:
    request = current_request()
    if request is None:
        return None
    user, auth = getattr(request, "user", None), getattr(request, "auth", None)
    kept: dict[tuple[int, int], frozenset[int] | None] = request.__dict__.setdefault(_KEPT, {})
    caller = (id(user), id(auth))  # authentication may still change who calls before the first read
    if caller not in kept:
        kept[caller] = _limits(user, auth)
    return kept[caller]


def _limits(user: Any, auth: Any) -> frozenset[int] | None:
    limits: list[frozenset[int]] = []
    if token_sites := getattr(auth, "site_ids", None):
        limits.append(frozenset(int(s) for s in token_sites))
    limited_user = user is not None and user.is_authenticated and not (user.is_staff or user.is_superuser)
    if limited_user and (rows := user_site_ids(user.pk)):
        limits.append(rows)
    if not limits:
        return None
    return frozenset.intersection(*limits)


def _cache_key(user_id: int) -> str:
    return f"jiraplus:site-access:{user_id}"


def user_site_ids(user_id: int) -> frozenset[int]:
    """The user's granted sites, from the cache (a read served from the read cache then costs no extra
    query); SiteAccess writes drop the entry (``site_access_changed``)."""
    from sync.models import SiteAccess

    kept = cache.get(_cache_key(user_id))
    if kept is None:
        kept = sorted(SiteAccess.objects.filter(user_id=user_id).values_list("site_id", flat=True))
        cache.set(_cache_key(user_id), kept, 300)
    return frozenset(kept)


def site_access_changed(sender: Any, instance: Any, **_: Any) -> None:
    cache.delete(_cache_key(instance.user_id))
