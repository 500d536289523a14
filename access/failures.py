"""Counters of failed attempts in the cache, one window each (shared by token and sign-in throttling)."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache


def count(keys: Iterable[str], window: int) -> None:
    for key in keys:
        if cache.add(key, 1, window):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls
            cache.set(key, 1, window)


def over(keys: Iterable[str], limit: int) -> bool:
    return any(int(cache.get(key) or 0) >= limit for key in keys)
